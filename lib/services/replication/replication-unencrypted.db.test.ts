// REP-4 through the job engine: an encrypted VM replicated to a target without a key provider for
// it (key mode "unencrypted", the job not refusing it) still replicates — the replica is
// unencrypted, bit for bit the source — and the session, the VM's run and the replicas view say so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import type { PlatformVm } from "@/lib/platform/connector";
import { makeActor } from "@/lib/testing/factories";
import { areasOf, diskHashes, replicationJobInput } from "@/lib/testing/replication-fixtures";
import { encryptedTwoDiskVm, type UndoVm } from "@/lib/testing/restore-fixtures";
import { runBackupSession } from "@/lib/testing/run-jobs";
import { platform, replicationHosts } from "../inventory/platform";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { createReplicationJob } from "./create-replication-job";
import { getReplica } from "./list-replicas";
import { runReplicationJobNow } from "./run-replication-job";

let admin: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;
let source: PlatformVm;
let undo: UndoVm | undefined;

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  viewer = await makeActor("BACKUP_VIEWER");
  source = await encryptedTwoDiskVm({ undo: (u) => (undo = u) });
  await platform().guestWrites(source.externalId, 1, 71);
}, 120_000);

afterAll(async () => {
  for (const r of await db.replica.findMany({ where: { job: { createdById: admin.id } }, select: { replicaVmExternalId: true } })) {
    if (r.replicaVmExternalId) await replicationHosts().target.deleteVm(r.replicaVmExternalId).catch(() => undefined);
  }
  await undo?.().catch(() => undefined);
  await syncInventoryFromPlatform();
}, 60_000);

describe("an unencrypted replica of an encrypted VM (REP-4)", { timeout: 180_000 }, () => {
  it("runs, ends in Warning saying the data sits unencrypted at the target, and the replicas view warns", async () => {
    const created = await createReplicationJob(admin, await replicationJobInput([source], { keyMode: "unencrypted", targetKeyProviderExternalId: null }));
    expect(created.warnings.join(" ")).toMatch(/is encrypted, but its replica is not/);
    const s = await runBackupSession((await runReplicationJobNow(admin, { jobId: created.id })).sessionId);
    const events = await db.sessionEvent.findMany({ where: { sessionId: s.id }, select: { level: true, text: true } });
    expect(s.state, events.map((e) => e.text).join("\n")).toBe("warning");
    expect(events.some((e) => e.level === "warning" && /is encrypted, but its replica is not/.test(e.text))).toBe(true);
    const vm = await db.sessionVm.findFirstOrThrow({ where: { sessionId: s.id } });
    expect(vm.state).toBe("warning");
    const row = await db.replica.findFirstOrThrow({ where: { jobId: created.id } });
    const replica = await getReplica(viewer, { replicaId: row.id });
    expect(replica.keyMode).toBe("unencrypted");
    expect(replica.points).toHaveLength(1);
    expect(replica.points[0]).toMatchObject({ keyIds: [], keyMode: "unencrypted" });
    expect(replica.warnings.join(" ")).toMatch(/is encrypted, but this replica is not/);
    expect(replica.lastRun).toMatchObject({ status: "warning" });
    const replicaVm = (await platform().inventory()).vms.find((v) => v.externalId === replica.replicaVmExternalId)!;
    expect(replicaVm.encrypted).toBe(false);
    expect(replicaVm.disks.every((d) => !d.encrypted)).toBe(true);
    const now = await diskHashes(source.externalId, source);
    const rep = await diskHashes(replicaVm.externalId, source, areasOf(now));
    for (const d of source.disks) expect(rep.get(d.deviceKey)!.hash, d.label).toBe(now.get(d.deviceKey)!.hash);
  });
});
