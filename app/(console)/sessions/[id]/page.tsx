import { notFound } from "next/navigation";
import { SessionView } from "@/components/backup/session-view";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { orNull } from "@/lib/errors/not-found";
import { hasPermission } from "@/lib/permissions/roles";
import { getJobSession } from "@/lib/services/backup/get-job-session";
import { stopJobSessionAction } from "../../jobs/actions";
import { stopRestoreSessionAction } from "../actions";

export const metadata = { title: "Job session" };

export default async function SessionPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see backup sessions" />;
  const session = await orNull(getJobSession(actor, { sessionId: (await params).id }));
  if (!session) notFound();
  const restore = session.kind === "restore";
  // A failover or failback session cannot be stopped: it runs its few steps to the end (FOV-1, FBK-1).
  return <SessionView initial={session} canManage={session.kind !== "failover" && session.kind !== "failback" && hasPermission(actor.role, restore ? "restore:run" : "job:manage")} stopAction={restore ? stopRestoreSessionAction : stopJobSessionAction} />;
}
