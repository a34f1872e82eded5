import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";

export interface AuditEventDto {
  seq: number;
  at: string;
  actorEmail: string | null;
  action: string;
  objectType: string | null;
  objectId: string | null;
  outcome: string;
  sourceIp: string | null;
  details: string;
}

/** The most recent audit events, newest first (SEC-4). Filters and export come with the security work. */
export async function listAuditEvents(actor: Actor, limit = 200): Promise<AuditEventDto[]> {
  authorize(actor, "audit:read");
  const rows = await db.auditEvent.findMany({ orderBy: { seq: "desc" }, take: Math.min(Math.max(1, limit), 1000) });
  return rows.map((r) => ({
    seq: r.seq,
    at: r.at.toISOString(),
    actorEmail: r.actorEmail,
    action: r.action,
    objectType: r.objectType,
    objectId: r.objectId,
    outcome: r.outcome,
    sourceIp: r.sourceIp,
    details: r.details,
  }));
}
