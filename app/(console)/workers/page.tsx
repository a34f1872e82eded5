import Link from "next/link";
import { WorkerList } from "@/components/jobs/worker-list";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { listWorkers } from "@/lib/services/jobs/list-workers";

export const metadata = { title: "Workers" };

export default async function WorkersPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see the workers" />;
  const workers = await listWorkers(actor);
  return (
    <>
      <PageHeader
        title="Workers"
        description={
          <>
            The processes that run backups and other long work: the console&apos;s own worker and, on PostgreSQL, worker processes on proxy hosts. Each
            heartbeats every few seconds; one that stops answering is shown in red and its work moves to a live worker. Follow the work itself on the{" "}
            <Link href="/sessions" className="text-brand-600 hover:underline">Sessions</Link> page.
          </>
        }
      />
      <WorkerList initial={workers} />
    </>
  );
}
