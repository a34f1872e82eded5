import { Skeleton } from "@/components/ui/states";

export default function JobLoading() {
  return (
    <div aria-busy="true" aria-label="Loading the job">
      <div className="mb-2 h-4 w-40 animate-pulse rounded bg-slate-200" />
      <div className="mb-6 h-8 w-72 animate-pulse rounded bg-slate-200" />
      <div className="mb-8 grid gap-6 lg:grid-cols-3">
        <div className="h-56 animate-pulse rounded-lg border border-slate-200 bg-white lg:col-span-2" />
        <div className="h-56 animate-pulse rounded-lg border border-slate-200 bg-white" />
      </div>
      <Skeleton rows={5} />
    </div>
  );
}
