import { Skeleton } from "@/components/ui/states";

export default function Loading() {
  return (
    <div className="max-w-4xl" data-testid="replicas-loading">
      <p className="mb-4 text-sm text-slate-500">Reading the replicas and their restore points…</p>
      <Skeleton rows={6} />
    </div>
  );
}
