import "server-only";
import type { ProxyTaskGate, ProxyTaskLease } from "@/lib/engine/pipeline/events";
import { db } from "@/lib/db/client";

// Proxies' task limits counted in the database (TRN-6), so they hold across every worker: a task
// is a ProxyTask row whose slot number is below the proxy's maxTasks, and the primary key
// (proxy, slot) lets only one holder have a slot. A holder renews its lease while the disk is
// read; a slot whose lease ran out (its worker died) is taken back by the next taker.

export const PROXY_TASK_LEASE_MS = 30_000;

export function proxyTaskGate(o: { sessionId: string; workerId: string; leaseMs?: number }): ProxyTaskGate {
  const leaseMs = o.leaseMs ?? PROXY_TASK_LEASE_MS;
  return {
    async counts() {
      const rows = await db.proxyTask.groupBy({ by: ["proxyExternalId"], where: { leaseUntil: { gt: new Date() } }, _count: { _all: true } });
      return Object.fromEntries(rows.map((r) => [r.proxyExternalId, r._count._all]));
    },
    async take(proxy, task): Promise<ProxyTaskLease | null> {
      await db.proxyTask.deleteMany({ where: { proxyExternalId: proxy.externalId, leaseUntil: { lte: new Date() } } });
      const held = new Set((await db.proxyTask.findMany({ where: { proxyExternalId: proxy.externalId }, select: { slot: true } })).map((r) => r.slot));
      for (let slot = 0; slot < proxy.maxTasks; slot++) {
        if (held.has(slot)) continue;
        try {
          await db.proxyTask.create({ data: { proxyExternalId: proxy.externalId, slot, sessionId: o.sessionId, vmExternalId: task.vmExternalId, deviceKey: task.deviceKey, workerId: o.workerId, leaseUntil: new Date(Date.now() + leaseMs) } });
        } catch (e) {
          if ((e as { code?: string }).code === "P2002") continue; // another worker took this slot first
          throw e;
        }
        const where = { proxyExternalId: proxy.externalId, slot, workerId: o.workerId, sessionId: o.sessionId };
        const renew = setInterval(() => void db.proxyTask.updateMany({ where, data: { leaseUntil: new Date(Date.now() + leaseMs) } }).catch(() => undefined), Math.floor(leaseMs / 3));
        renew.unref();
        return {
          slot,
          async release() {
            clearInterval(renew);
            await db.proxyTask.deleteMany({ where });
          },
        };
      }
      return null;
    },
  };
}
