import Link from "next/link";
import { KeyIds, PointStatusBadge, PointTypeBadge } from "@/components/backup/badges";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { requireActor } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { listRestorablePoints, listRestorableVms } from "@/lib/services/restore/list-restorable-vms";

export const metadata = { title: "Restore" };

export default async function RestorePage({ searchParams }: { searchParams: Promise<{ vm?: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "restore:run")) return <Forbidden what="restore VMs" />;
  const vms = await listRestorableVms(actor);
  const { vm } = await searchParams;
  const chosen = vms.find((v) => v.vmExternalId === vm) ?? null;
  const points = chosen ? await listRestorablePoints(actor, { vmExternalId: chosen.vmExternalId }) : [];
  return (
    <>
      <PageHeader title="Restore" description="Pick the VM to restore, then its restore point (the newest by default). Each point shows the keys that open it and whether this console holds them now." />
      {vms.length === 0 ? (
        <EmptyState title="No restore points yet" action={hasPermission(actor.role, "job:manage") ? { href: "/jobs/new", label: "New backup job" } : { href: "/jobs", label: "Backup jobs" }}>
          A VM can be restored once a backup job has made a restore point of it.
        </EmptyState>
      ) : (
        <div className="grid gap-6 xl:grid-cols-[22rem_1fr]">
          <Card title={`VMs with restore points (${vms.length})`}>
            <ul className="divide-y divide-slate-100 text-sm" data-testid="restorable-vms">
              {vms.map((v) => (
                <li key={v.vmExternalId}>
                  <Link href={`/restore?vm=${encodeURIComponent(v.vmExternalId)}`} className={`flex items-center gap-2 px-2 py-2 hover:bg-slate-50 ${chosen?.vmExternalId === v.vmExternalId ? "bg-brand-50" : ""}`} data-testid="restorable-vm" data-vm={v.vmName}>
                    <span className="font-medium">{v.vmName}</span>
                    {v.encrypted && <EncryptionBadge encrypted />}
                    <span className="ml-auto text-xs text-slate-500">{v.pointCount} point{v.pointCount === 1 ? "" : "s"} · latest {formatDateTime(v.latestAt)}</span>
                  </Link>
                </li>
              ))}
            </ul>
          </Card>
          {chosen ? (
            <Card title={`Restore points of ${chosen.vmName}`}>
              <Table testId="restore-point-choices">
                <thead>
                  <tr><Th>Created</Th><Th>Type</Th><Th>Key ids</Th><Th>Keys</Th><Th>Status</Th><Th /></tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {points.map((p, i) => (
                    <tr key={p.id} data-testid="restore-point-choice">
                      <Td className="whitespace-nowrap">{formatDateTime(p.createdAt)}{i === 0 && <span className="ml-2"><Badge tone="info">latest</Badge></span>}</Td>
                      <Td><PointTypeBadge incremental={p.incremental} /></Td>
                      <Td><KeyIds ids={p.keyIds} /></Td>
                      <Td>{p.keysAvailable === true ? <Badge tone="good">Available</Badge> : p.keysAvailable === false ? <span title={p.keysProblem ?? ""}><Badge tone="bad">Missing</Badge><div className="mt-1 max-w-xs text-xs text-red-700">{p.keysProblem}</div></span> : <span className="text-xs text-slate-500">{p.keysProblem ?? "checked when chosen"}</span>}</Td>
                      <Td><PointStatusBadge status={p.status} /></Td>
                      <Td>
                        <Link href={`/restore/new?point=${encodeURIComponent(p.id)}`} className="btn-primary inline-block" data-testid="restore-point-open">Restore</Link>
                      </Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            </Card>
          ) : (
            <EmptyState title="Choose a VM">Its restore points are listed here, newest first.</EmptyState>
          )}
        </div>
      )}
    </>
  );
}
