import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { parseInput } from "@/lib/errors/parse-input";
import { hasPermission } from "@/lib/permissions/roles";
import { KIND_LABELS, type ApprovalKind, type DiffLine } from "./approval-payload";
import { dependenceOnRequester } from "./approver-independence";

const listSchema = z.object({ scope: z.enum(["inbox", "mine", "all"]).default("mine") });

export interface ApprovalRequestDto {
  id: string;
  kind: string;
  kindLabel: string;
  objectType: string;
  objectId: string;
  objectName: string;
  summary: DiffLine[];
  requestedBy: { id: string; name: string; email: string } | null;
  requestedAt: string;
  expiresAt: string;
  /** "pending" | "approved" | "rejected" | "cancelled" | "expired" | "void" ("expired" shown as soon as the time passed). */
  state: string;
  decidedBy: { name: string; email: string } | null;
  decidedAt: string | null;
  comment: string | null;
  mine: boolean;
  canDecide: boolean;
  /** Why the viewer, a Security Officer, may not approve this pending request (their account or credentials came from the requester). */
  refusal: string | null;
}

/**
 * inbox: pending requests of others, for Security Officers (SEC-2); mine: the caller's own requests
 * and their state; all: every request (Security Officers and auditors).
 */
export async function listApprovalRequests(actor: Actor, raw: z.input<typeof listSchema> = {}): Promise<ApprovalRequestDto[]> {
  authorize(actor, "inventory:read");
  const { scope } = parseInput(listSchema, raw);
  if (scope === "inbox") authorize(actor, "approval:decide");
  if (scope === "all" && !hasPermission(actor.role, "audit:read")) authorize(actor, "approval:decide");
  const now = new Date();
  const rows = await db.approvalRequest.findMany({
    where: scope === "inbox" ? { state: "pending", expiresAt: { gt: now }, requestedById: { not: actor.id } } : scope === "mine" ? { requestedById: actor.id } : {},
    orderBy: { requestedAt: "desc" },
    take: 200,
  });
  const userIds = [...new Set(rows.flatMap((r) => [r.requestedById, r.decidedById].filter((x): x is string => Boolean(x))))];
  const users = new Map((await db.user.findMany({ where: { id: { in: userIds } }, select: { id: true, name: true, email: true } })).map((u) => [u.id, u]));
  const names = await objectNames(rows);
  const decider = hasPermission(actor.role, "approval:decide");
  const origin = decider ? await db.user.findUnique({ where: { id: actor.id }, select: { createdById: true, roleChangedById: true, enabledChangedById: true, passwordChangedById: true } }) : null;
  return rows.map((r) => {
    const state = r.state === "pending" && r.expiresAt <= now ? "expired" : r.state;
    const requester = users.get(r.requestedById);
    const refusal = origin && state === "pending" && r.requestedById !== actor.id ? dependenceOnRequester(origin, r.requestedById, requester ? `${requester.name} (${requester.email})` : "") : null;
    return {
      id: r.id,
      kind: r.kind,
      kindLabel: KIND_LABELS[r.kind as ApprovalKind] ?? r.kind,
      objectType: r.objectType,
      objectId: r.objectId,
      objectName: names.get(`${r.objectType}:${r.objectId}`) ?? r.objectId,
      summary: JSON.parse(r.summary) as DiffLine[],
      requestedBy: users.get(r.requestedById) ?? null,
      requestedAt: r.requestedAt.toISOString(),
      expiresAt: r.expiresAt.toISOString(),
      state,
      decidedBy: r.decidedById ? (users.get(r.decidedById) ?? null) : null,
      decidedAt: r.decidedAt?.toISOString() ?? null,
      comment: r.comment,
      mine: r.requestedById === actor.id,
      canDecide: decider && state === "pending" && r.requestedById !== actor.id && !refusal,
      refusal,
    };
  });
}

/** The inbox badge: pending requests the caller may decide (0 for roles that decide nothing). */
export async function countInbox(actor: Actor): Promise<number> {
  authorize(actor, "inventory:read");
  if (!hasPermission(actor.role, "approval:decide")) return 0;
  return db.approvalRequest.count({ where: { state: "pending", expiresAt: { gt: new Date() }, requestedById: { not: actor.id } } });
}

async function objectNames(rows: Array<{ objectType: string; objectId: string }>): Promise<Map<string, string>> {
  const ids = (t: string) => rows.filter((r) => r.objectType === t).map((r) => r.objectId);
  const [jobs, users, clusters, points, replicationJobs] = await Promise.all([
    db.backupJob.findMany({ where: { id: { in: ids("backup-job") } }, select: { id: true, name: true } }),
    db.user.findMany({ where: { id: { in: ids("user") } }, select: { id: true, email: true } }),
    db.kmsCluster.findMany({ where: { id: { in: ids("kms-cluster") } }, select: { id: true, name: true } }),
    db.restorePoint.findMany({ where: { id: { in: ids("restore-point") } }, select: { id: true, vmName: true } }),
    db.replicationJob.findMany({ where: { id: { in: ids("replication-job") } }, select: { id: true, name: true } }),
  ]);
  return new Map([
    ...jobs.map((j) => [`backup-job:${j.id}`, j.name] as const),
    ...users.map((u) => [`user:${u.id}`, u.email] as const),
    ...clusters.map((c) => [`kms-cluster:${c.id}`, c.name] as const),
    ...points.map((p) => [`restore-point:${p.id}`, `restore point of ${p.vmName}`] as const),
    ...replicationJobs.map((j) => [`replication-job:${j.id}`, `replication job ${j.name}`] as const),
    ["settings:four-eyes", "Four-eyes approval"] as const,
  ]);
}
