import Link from "next/link";
import { notFound } from "next/navigation";
import { RepositoryKeysPanel } from "@/components/backup/repository-keys-panel";
import { RestorePointTable } from "@/components/backup/restore-point-table";
import { VerifyPanel } from "@/components/backup/verify-panel";
import { Card, DefinitionList, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { ErrorNotice } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { formatBytes, formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { getBackupRepository } from "@/lib/services/backup/list-repositories";
import { listRestorePoints } from "@/lib/services/backup/list-restore-points";
import { getRepositoryKeyNeeds } from "@/lib/services/restore/repository-key-needs";
import { unlockRepositoryAction, verifyRepositoryAction } from "../actions";

export const metadata = { title: "Repository" };

export default async function RepositoryPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see backup repositories" />;
  const repositoryId = (await params).id;
  const repo = await orNull(getBackupRepository(actor, { repositoryId }));
  if (!repo) notFound();
  const points = await listRestorePoints(actor, { repositoryId });
  const canManage = hasPermission(actor.role, "job:manage");
  // KEY-9: the points this console's keys do not open (an adopted repository), and the password form.
  const keyNeeds = await getRepositoryKeyNeeds(actor, { repositoryId });
  return (
    <>
      <div className="mb-2 text-sm text-slate-500"><Link href="/repositories" className="hover:underline">Repositories</Link> / {repo.name}</div>
      <PageHeader title={repo.name} description={repo.description || "A folder on the Strongroom server holding restore points, encrypted block by block."} />
      {repo.catalogueProblems.length > 0 && (
        <div className="mb-6" data-testid="catalogue-problems">
          <ErrorNotice title="The repository folder does not match the console's catalogue">
            <ul className="list-disc space-y-1 pl-5">{repo.catalogueProblems.map((p) => <li key={p}>{p}</li>)}</ul>
          </ErrorNotice>
        </div>
      )}
      {(keyNeeds.points.length > 0 || keyNeeds.entered.length > 0) && (
        <RepositoryKeysPanel repositoryId={repo.id} needs={keyNeeds} canUnlock={hasPermission(actor.role, "restore:run")} action={unlockRepositoryAction} />
      )}
      <div className="grid gap-6 lg:grid-cols-3">
        <Card title="Details">
          <div data-testid="repository-details">
            <DefinitionList
              items={[
                ["Folder", <code key="p" className="break-all text-xs">{repo.path}</code>],
                ["Restore points", String(repo.pointCount)],
                ["Stored", formatBytes(repo.bytesStored)],
                ["Immutability", repo.immutabilityDays > 0 ? `${repo.immutabilityDays} day${repo.immutabilityDays === 1 ? "" : "s"}: a point cannot be deleted before then, even by retention` : "Off"],
                ["Block size", formatBytes(repo.blockSize)],
                ["Added", formatDateTime(repo.createdAt)],
                [
                  "Jobs writing here",
                  repo.jobs.length ? (
                    <ul key="j">{repo.jobs.map((j) => <li key={j.id}><Link href={`/jobs/${j.id}`} className="text-brand-600 hover:underline">{j.name}</Link></li>)}</ul>
                  ) : (
                    "None yet"
                  ),
                ],
              ]}
            />
          </div>
        </Card>
        <div className="lg:col-span-2">
          <VerifyPanel initial={repo} canManage={canManage} action={verifyRepositoryAction} newestPointAt={points[0]?.createdAt ?? null} />
        </div>
      </div>
      <h2 className="mb-2 mt-8 text-lg font-semibold">Restore points ({points.length})</h2>
      {points.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-8 text-center text-sm text-slate-600" data-testid="points-empty">
          No restore points in this repository yet. {repo.jobs.length ? "They appear after the jobs writing here have run." : "Choose it as the repository of a backup job."}
        </div>
      ) : (
        <RestorePointTable points={points} show={{ vm: true, job: true }} />
      )}
    </>
  );
}
