import { Skeleton } from "@/components/ui/states";

export default function Loading() {
  return (
    <div className="max-w-4xl" data-testid="restore-loading">
      <p className="mb-4 text-sm text-slate-500">Opening the restore point and reading the platform&apos;s inventory…</p>
      <Skeleton rows={8} />
    </div>
  );
}
