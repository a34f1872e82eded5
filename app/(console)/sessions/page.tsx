import Link from "next/link";
import { SessionList } from "@/components/jobs/session-list";
import { sessionFilterErrors, sessionViewFrom } from "@/components/jobs/session-search";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { hasPermission } from "@/lib/permissions/roles";
import { listSessions } from "@/lib/services/jobs/list-sessions";

export const metadata = { title: "Sessions" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function SessionsPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see sessions" />;
  const raw = Object.fromEntries(Object.entries(await searchParams).map(([k, v]) => [k, (Array.isArray(v) ? v[0] : v) ?? ""]));
  const view = sessionViewFrom(raw);
  // Invalid filters in the address are shown in the filter bar with what is wrong; nothing is listed until they are fixed.
  const page = Object.keys(sessionFilterErrors(view)).length === 0 ? await listSessions(actor, view) : null;
  return (
    <>
      <PageHeader
        title="Sessions"
        description={
          <>
            Every run of long work, newest first: backups, repository verifies and, as they arrive, restores and replications. See what is queued, which
            worker and proxy runs what and since when, and how each ended. Worker health is on the <Link href="/workers" className="text-brand-600 hover:underline">Workers</Link> page.
          </>
        }
      />
      <SessionList initialView={view} initialPage={page} canRunJobs={hasPermission(actor.role, "job:manage")} />
    </>
  );
}
