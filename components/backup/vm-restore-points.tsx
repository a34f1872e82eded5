import Link from "next/link";
import { Card } from "@/components/ui/card";
import type { RestorePointDto } from "@/lib/services/backup/list-restore-points";
import { RestorePointTable } from "./restore-point-table";

/** The VM page's restore points (KEY-7 key ids included), or how to get the first one. */
export function VmRestorePoints({ points, canManage, canRestore = false }: { points: RestorePointDto[]; canManage: boolean; canRestore?: boolean }) {
  return (
    <Card title={`Restore points (${points.length})`} className="mt-6">
      {points.length === 0 ? (
        <div className="py-4 text-center text-sm text-slate-600" data-testid="vm-points-empty">
          <p className="font-medium text-slate-800">No restore points yet — add this VM to a backup job</p>
          <p className="mt-1">A job&apos;s first run makes a full restore point of the VM; later runs are incremental.</p>
          <Link href={canManage ? "/jobs/new" : "/jobs"} className="mt-3 inline-block font-medium text-brand-600 hover:underline">
            {canManage ? "New backup job" : "Backup jobs"}
          </Link>
        </div>
      ) : (
        <RestorePointTable points={points} show={{ job: true, repository: true }} canRestore={canRestore} />
      )}
    </Card>
  );
}
