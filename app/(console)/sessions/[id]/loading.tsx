export default function SessionLoading() {
  return (
    <div className="space-y-6" aria-busy="true" aria-label="Loading the session">
      <div className="animate-pulse space-y-2">
        <div className="h-4 w-48 rounded bg-slate-200" />
        <div className="h-8 w-80 rounded bg-slate-200" />
        <div className="h-4 w-96 rounded bg-slate-200/70" />
      </div>
      <div className="h-28 animate-pulse rounded-lg border border-slate-200 bg-white" />
      {[0, 1].map((i) => (
        <div key={i} className="h-40 animate-pulse rounded-lg border border-slate-200 bg-white" />
      ))}
      <div className="h-48 animate-pulse rounded-lg bg-slate-200/60" />
    </div>
  );
}
