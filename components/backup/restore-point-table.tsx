import Link from "next/link";
import { LockIcon } from "@/components/ui/icons";
import { Table, Td, Th } from "@/components/ui/table";
import { formatBytes, formatDateTime } from "@/lib/format";
import type { RestorePointDto } from "@/lib/services/backup/list-restore-points";
import type { ActionState } from "@/lib/auth/safe-action";
import { KeyIds, PointStatusBadge, PointTypeBadge } from "./badges";
import { DeletePointButton } from "./delete-point-button";

/** Restore points, newest first. Columns that repeat the page's own subject are left out. */
export function RestorePointTable({
  points,
  show,
  testId = "restore-points",
  deleteAction,
  canRestore = false,
}: {
  points: RestorePointDto[];
  show: { vm?: boolean; job?: boolean; repository?: boolean };
  testId?: string;
  /** For users who may delete points (job:manage). */
  deleteAction?: (p: ActionState, fd: FormData) => Promise<ActionState>;
  /** For users who may restore (restore:run): a Restore button per point that opens the wizard there. */
  canRestore?: boolean;
}) {
  return (
    <Table testId={testId}>
      <thead>
        <tr>
          <Th>Created</Th>
          {show.vm && <Th>VM</Th>}
          {show.job && <Th>Job</Th>}
          {show.repository && <Th>Repository</Th>}
          <Th>Type</Th>
          <Th>Key ids</Th>
          <Th className="text-right">Disks</Th>
          <Th className="text-right">Stored</Th>
          <Th>Status</Th>
          {canRestore && <Th>Restore</Th>}
          {deleteAction && <Th>Manage</Th>}
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {points.map((p) => (
          <tr key={p.id} data-testid="restore-point-row">
            <Td className="whitespace-nowrap">
              {p.sessionId ? <Link href={`/sessions/${p.sessionId}`} className="text-brand-600 hover:underline" title="Open the session that made it">{formatDateTime(p.createdAt)}</Link> : formatDateTime(p.createdAt)}
              <div className="font-mono text-[11px] text-slate-400" title={p.id}>{p.id.length > 18 ? `${p.id.slice(0, 18)}…` : p.id}</div>
            </Td>
            {show.vm && (
              <Td className="whitespace-nowrap">
                <span className="font-medium">{p.vmName}</span>
                {p.vmEncrypted && <span className="ml-1 text-violet-700" title="The VM was encrypted with VM Encryption when it was backed up"><LockIcon /></span>}
              </Td>
            )}
            {show.job && <Td>{p.job ? <Link href={`/jobs/${p.job.id}`} className="text-brand-600 hover:underline">{p.job.name}</Link> : <span className="text-slate-500" title="The job that made it was removed, or the point was made by another console (an adopted repository)">no job on this console</span>}</Td>}
            {show.repository && <Td><Link href={`/repositories/${p.repository.id}`} className="text-brand-600 hover:underline">{p.repository.name}</Link></Td>}
            <Td><PointTypeBadge incremental={p.incremental} /></Td>
            <Td><KeyIds ids={p.keyIds} /></Td>
            <Td className="text-right tabular-nums">{p.diskCount}</Td>
            <Td className="whitespace-nowrap text-right tabular-nums">{formatBytes(p.bytesStored)}</Td>
            <Td><PointStatusBadge status={p.status} /></Td>
            {canRestore && (
              <Td>
                <Link href={`/restore/new?point=${encodeURIComponent(p.id)}`} className="btn-secondary inline-block whitespace-nowrap" data-testid="restore-point-restore">
                  Restore
                </Link>
              </Td>
            )}
            {deleteAction && (
              <Td>
                <DeletePointButton pointId={p.id} action={deleteAction} />
              </Td>
            )}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

