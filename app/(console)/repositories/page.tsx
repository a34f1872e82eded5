import Link from "next/link";
import { VerifyOutcomeBadge } from "@/components/backup/badges";
import { RepositoryForm } from "@/components/backup/repository-form";
import { Badge } from "@/components/ui/badge";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { requireActor } from "@/lib/auth/session";
import { formatBytes, formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { listBackupRepositories } from "@/lib/services/backup/list-repositories";
import { createRepositoryAction } from "./actions";

export const metadata = { title: "Repositories" };

export default async function RepositoriesPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see backup repositories" />;
  const repositories = await listBackupRepositories(actor);
  const canManage = hasPermission(actor.role, "job:manage");
  return (
    <>
      <PageHeader
        title="Repositories"
        description="Folders on the Strongroom server where restore points are stored: deduplicated, compressed and encrypted block by block. Verify a repository to know every point can still be restored."
      />
      {repositories.length === 0 ? (
        <EmptyState title="No repositories">
          Backup jobs need a repository to write to. {canManage ? "Add a folder below." : "A Backup Administrator adds one."}
        </EmptyState>
      ) : (
        <Table testId="repository-table">
          <thead>
            <tr>
              <Th>Repository</Th>
              <Th>Folder</Th>
              <Th className="text-right">Restore points</Th>
              <Th className="text-right">Stored</Th>
              <Th>Immutability</Th>
              <Th className="text-right">Jobs</Th>
              <Th>Last verify</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {repositories.map((r) => (
              <tr key={r.id} data-testid="repository-row" data-repository={r.name}>
                <Td>
                  <Link href={`/repositories/${r.id}`} className="font-medium text-brand-600 hover:underline">{r.name}</Link>
                  {r.description && <div className="max-w-xs truncate text-xs text-slate-500" title={r.description}>{r.description}</div>}
                </Td>
                <Td><code className="break-all text-xs text-slate-700">{r.path}</code></Td>
                <Td className="text-right tabular-nums">{r.pointCount}</Td>
                <Td className="whitespace-nowrap text-right tabular-nums">{formatBytes(r.bytesStored)}</Td>
                <Td>{r.immutabilityDays > 0 ? <Badge tone="info">{r.immutabilityDays} day{r.immutabilityDays === 1 ? "" : "s"}</Badge> : <span className="text-slate-500">Off</span>}</Td>
                <Td className="text-right tabular-nums">{r.jobCount}</Td>
                <Td>
                  {r.verifyRunning ? (
                    <Badge tone="info">Verifying…</Badge>
                  ) : r.lastVerify ? (
                    <div>
                      <VerifyOutcomeBadge outcome={r.lastVerify.outcome} />
                      <div className="mt-0.5 text-xs text-slate-500">{formatDateTime(r.lastVerify.at)}</div>
                    </div>
                  ) : (
                    <span className="text-xs text-slate-500">Never verified</span>
                  )}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {canManage && (
        <Card title="Add repository" className="mt-8">
          <RepositoryForm action={createRepositoryAction} pathPlaceholder="/srv/backups/repo1" />
        </Card>
      )}
    </>
  );
}
