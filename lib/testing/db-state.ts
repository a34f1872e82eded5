// What the `db` tests compare before and after a call that must not write: row counts of every
// table, the audit log's tail, and (per test) the target row itself.
import { expect } from "vitest";
import { db } from "@/lib/db/client";
import type { Prisma } from "@/prisma/generated/sqlite/client";
import { AppError, type AppErrorCode } from "@/lib/errors/app-error";

export async function rowCounts() {
  const [users, signInThrottles, auditEvents, sites, tenants, hosts, storagePolicies, datastores, datastorePolicies, keyProviders, vms, virtualDisks, proxies, replicationJobs, replicas, replicaPoints] =
    await Promise.all([
      db.user.count(),
      db.signInThrottle.count(),
      db.auditEvent.count(),
      db.site.count(),
      db.tenant.count(),
      db.host.count(),
      db.storagePolicy.count(),
      db.datastore.count(),
      db.datastorePolicy.count(),
      db.keyProvider.count(),
      db.vm.count(),
      db.virtualDisk.count(),
      db.proxy.count(),
      db.replicationJob.count(),
      db.replica.count(),
      db.replicaPoint.count(),
    ]);
  return { users, signInThrottles, auditEvents, sites, tenants, hosts, storagePolicies, datastores, datastorePolicies, keyProviders, vms, virtualDisks, proxies, replicationJobs, replicas, replicaPoints };
}

/** Row counts plus the audit tail: equal before and after ⇔ nothing was inserted, deleted or audited. */
export async function dbState() {
  const tail = await db.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
  return { counts: await rowCounts(), auditTail: tail };
}

/**
 * A refused call wrote nothing: every table's row count as before — except audit events that the
 * product's background work (a session of an earlier test finishing, a schedule) wrote meanwhile,
 * which carry no user — and no audit event by `actorId` or by any user since `before`.
 */
export async function expectUnchangedSince(before: Awaited<ReturnType<typeof dbState>>) {
  const after = await dbState();
  const since = await db.auditEvent.findMany({ where: { seq: { gt: before.auditTail?.seq ?? 0 } }, select: { seq: true, action: true, actorId: true } });
  expect(since.filter((e) => e.actorId !== null), "audit events by a user since the refused call").toEqual([]);
  // Audit rows are compared by who wrote them (above), not by count: on PostgreSQL a background
  // event can commit between reading the tail and counting, and be counted on both sides.
  const { auditEvents: auditAfter, ...rest } = after.counts;
  const { auditEvents: auditBefore, ...was } = before.counts;
  expect(rest).toEqual(was);
  expect(auditAfter, "audit events are never deleted").toBeGreaterThanOrEqual(auditBefore);
}

/** The newest audit events, newest first, optionally narrowed. */
export function latestAuditEvents(where: Prisma.AuditEventWhereInput = {}, take = 10) {
  return db.auditEvent.findMany({ where, orderBy: { seq: "desc" }, take });
}

/** Awaits `promise`, expects an AppError with `code`, and returns it for further checks. */
export async function expectAppError(promise: Promise<unknown>, code: AppErrorCode): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected AppError ${code}, but the call succeeded`).toBeDefined();
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code, (error as AppError).message).toBe(code);
  return error as AppError;
}
