import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { WORKER_DEAD_AFTER_MS } from "@/lib/jobs/worker-liveness";
import { hasPermission, ROLES } from "@/lib/permissions/roles";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueSuffix } from "@/lib/testing/factories";
import { listSessions } from "./list-sessions";
import { SESSION_PAGE_SIZE } from "./list-sessions.schema";
import { listWorkers, parseTasks } from "./list-workers";

// The Jobs / Sessions view (issue 9). Rows are written straight with Prisma, as the engine writes
// them (the schema's comments are the contract). Every test names its rows with a fresh tag and
// searches by it, so other files' sessions in the shared database never match.

let viewer: Actor;
beforeAll(async () => {
  viewer = await makeActor("BACKUP_VIEWER");
});

const ago = (ms: number) => new Date(Date.now() - ms);

async function seed() {
  const tag = `jv${uniqueSuffix()}`;
  const site = await db.site.create({ data: { externalId: `site-${tag}`, name: `Site ${tag}`, role: "PRODUCTION", vcenterHost: "vc.test", location: "lab", connectorKind: "lab" } });
  const proxy = await db.proxy.create({ data: { siteId: site.id, externalId: `proxy-${tag}`, name: `proxy-${tag}`, kind: "vm", transportModes: "nbd,nbdssl", maxTasks: 4, privileges: "" } });
  const repo = await db.backupRepository.create({ data: { name: `repo-${tag}`, path: `/tmp/${tag}`, engineId: tag, blockSize: 1 << 20 } });
  const job = await db.backupJob.create({ data: { name: `job-${tag}`, selection: "[]", repositoryId: repo.id, retentionPoints: 3, encryptionMode: "off", schedule: '{"kind":"manual"}' } });
  const alive = await db.jobWorker.create({ data: { id: `w-alive-${tag}`, role: "worker", host: `proxy-host-a-${tag}`, pid: 101, heartbeatAt: ago(1000), tasks: "[]" } });
  const dead = await db.jobWorker.create({ data: { id: `w-dead-${tag}`, role: "worker", host: `proxy-host-b-${tag}`, pid: 202, heartbeatAt: ago(WORKER_DEAD_AFTER_MS + 30_000), tasks: "[]" } });

  // A running backup session: one VM done on the dead worker, one taken over by the live one,
  // one still on the dead worker (its lease has not run out yet), one waiting.
  const backup = await db.jobSession.create({
    data: { kind: "backup", subject: `backup-job:${job.id}`, title: `Nightly ${tag}`, jobId: job.id, state: "running", trigger: "schedule", queuedAt: ago(60_000), startedAt: ago(58_000), workerId: alive.id, heartbeatAt: ago(1000) },
  });
  await db.sessionVm.createMany({
    data: [
      { sessionId: backup.id, position: 0, vmExternalId: "vm-1", name: "web-01", state: "success", progress: "{}", workerId: dead.id, attempt: 1 },
      { sessionId: backup.id, position: 1, vmExternalId: "vm-2", name: "web-02", state: "running", progress: "{}", workerId: alive.id, attempt: 2 },
      { sessionId: backup.id, position: 2, vmExternalId: "vm-3", name: "web-03", state: "running", progress: "{}", workerId: dead.id, attempt: 1 },
      { sessionId: backup.id, position: 3, vmExternalId: "vm-4", name: "web-04", state: "pending", progress: "{}" },
    ],
  });
  await db.proxyTask.createMany({
    data: [
      { proxyExternalId: proxy.externalId, slot: 0, sessionId: backup.id, vmExternalId: "vm-2", deviceKey: 2000, workerId: alive.id, leaseUntil: new Date(Date.now() + 30_000) },
      { proxyExternalId: proxy.externalId, slot: 1, sessionId: backup.id, vmExternalId: "vm-2", deviceKey: 2001, workerId: alive.id, leaseUntil: new Date(Date.now() + 30_000) },
      // The dead worker's slot: its lease ran out, so it is free again and not counted.
      { proxyExternalId: proxy.externalId, slot: 2, sessionId: backup.id, vmExternalId: "vm-3", deviceKey: 2000, workerId: dead.id, leaseUntil: ago(5000) },
    ],
  });
  await db.jobWorker.update({
    where: { id: alive.id },
    data: { tasks: JSON.stringify([{ kind: "backup-vm", sessionId: backup.id, vmExternalId: "vm-2", since: ago(20_000).toISOString() }, { kind: "bogus" }, 42]) },
  });

  // An ended verify of the repository, and an older backup row from before the engine (empty
  // title and subject, VMs in the progress JSON).
  const verify = await db.jobSession.create({
    data: { kind: "verify", subject: `repository:${repo.id}`, title: `Verify ${tag}`, state: "success", trigger: "manual", queuedAt: ago(120_000), startedAt: ago(119_000), endedAt: ago(100_000) },
  });
  const legacy = await db.jobSession.create({
    data: { kind: "backup", jobId: job.id, state: "failed", trigger: "manual", queuedAt: ago(3600_000), startedAt: ago(3599_000), endedAt: ago(3500_000), error: "no proxy can read it", progress: JSON.stringify({ vms: [{ status: "success", disks: [{ bytesRead: 3000, bytesTransferred: 1000 }] }, { status: "failed", disks: [{ bytesRead: "x" }] }] }) },
  });
  const queued = await db.jobSession.create({ data: { kind: "backup", subject: `backup-job:${job.id}`, title: `Queued ${tag}`, jobId: job.id, state: "queued", trigger: "manual", queuedAt: ago(1000) } });
  return { tag, job, repo, proxy, alive, dead, backup, verify, legacy, queued };
}

describe("listSessions", () => {
  it("lists every kind newest first, with titles, subject links, VM counts and where each runs", async () => {
    const s = await seed();
    // The legacy row has no title: it is found by its job's name.
    const page = await listSessions(viewer, { q: s.tag });
    expect(page.rows.map((r) => r.id)).toEqual([s.queued.id, s.backup.id, s.verify.id, s.legacy.id]);
    expect(page.activeCount).toBeGreaterThanOrEqual(2);
    expect(page.options.kinds).toEqual(expect.arrayContaining(["backup", "verify"]));
    expect(page.options.workers.map((w) => w.id)).toEqual(expect.arrayContaining([s.alive.id, s.dead.id]));

    const [queued, backup, verify, legacy] = page.rows;
    expect(queued).toMatchObject({ state: "queued", startedAt: null, queueLatencyMs: null, where: { workers: [], proxies: [] } });

    expect(backup).toMatchObject({ kind: "backup", kindLabel: "Backup", title: `Nightly ${s.tag}`, state: "running", trigger: "schedule", durationMs: null });
    expect(backup.subject).toEqual({ type: "backup-job", id: s.job.id, label: `Backup job ${s.job.name}`, href: `/jobs/${s.job.id}` });
    expect(backup.queueLatencyMs).toBeGreaterThanOrEqual(1900);
    expect(backup.queueLatencyMs).toBeLessThanOrEqual(2100);
    expect(backup.vms).toEqual({ total: 4, pending: 1, running: 2, success: 1, warning: 0, failed: 0, skipped: 0 });
    // Where: the live worker that took over vm-2, and the dead one still named on vm-3.
    expect(backup.where.workers.map((w) => [w.id, w.host, w.alive, w.runningVms])).toEqual([
      [s.alive.id, s.alive.host, true, 1],
      [s.dead.id, s.dead.host, false, 1],
    ]);
    expect(backup.where.vmsTakenOver).toBe(1);
    // Only slots under a live lease count.
    expect(backup.where.proxies).toEqual([{ externalId: s.proxy.externalId, name: s.proxy.name, tasks: 2 }]);

    expect(backup.where.ranOn).toEqual([]);
    expect(verify).toMatchObject({ kind: "verify", kindLabel: "Repository verify", state: "success", where: { workers: [], proxies: [], ranOn: [] } });
    expect(verify.subject).toEqual({ type: "repository", id: s.repo.id, label: `Repository ${s.repo.name}`, href: `/repositories/${s.repo.id}` });
    expect(verify.durationMs).toBeGreaterThanOrEqual(18_000);

    expect(legacy).toMatchObject({ title: s.job.name, state: "failed", error: "no proxy can read it" });
    expect(legacy.subject?.href).toBe(`/jobs/${s.job.id}`);
    expect(legacy.vms).toMatchObject({ total: 2, success: 1, failed: 1 });
    expect([legacy.bytesRead, legacy.bytesStored]).toEqual([3000, 1000]);
  });

  it("an ended session says which workers ran its VMs", async () => {
    const s = await seed();
    await db.sessionVm.updateMany({ where: { sessionId: s.backup.id, state: { in: ["running", "pending"] } }, data: { state: "success", workerId: s.alive.id } });
    await db.jobSession.update({ where: { id: s.backup.id }, data: { state: "success", endedAt: new Date() } });
    await db.proxyTask.deleteMany({ where: { sessionId: s.backup.id } });
    const row = (await listSessions(viewer, { q: `Nightly ${s.tag}` })).rows[0];
    expect(row.where).toMatchObject({ workers: [], proxies: [], vmsTakenOver: 1 });
    expect(row.where.ranOn).toEqual([
      { id: s.alive.id, host: s.alive.host, pid: 101, role: "worker", vms: 3 },
      { id: s.dead.id, host: s.dead.host, pid: 202, role: "worker", vms: 1 },
    ]);
  });

  it("filters by kind, state, worker, text in any case and queued time", async () => {
    const s = await seed();
    const ids = async (f: Record<string, string>) => (await listSessions(viewer, { q: s.tag, ...f })).rows.map((r) => r.id);
    expect(await ids({ kind: "verify" })).toEqual([s.verify.id]);
    expect(await ids({ kind: "restore" })).toEqual([]);
    expect(await ids({ state: "queued" })).toEqual([s.queued.id]);
    expect(await ids({ state: "running" })).toEqual([s.backup.id]);
    expect(await ids({ state: "done" })).toEqual([s.verify.id, s.legacy.id]);
    expect(await ids({ state: "failed" })).toEqual([s.legacy.id]);
    expect(await ids({ kind: "backup", state: "done" })).toEqual([s.legacy.id]);
    // A worker matches the sessions whose VMs it runs or ran.
    expect(await ids({ worker: s.dead.id })).toEqual([s.backup.id]);
    expect(await ids({ worker: s.alive.id })).toEqual([s.backup.id]);
    expect((await listSessions(viewer, { q: `NIGHTLY ${s.tag.toUpperCase()}` })).rows.map((r) => r.id)).toEqual([s.backup.id]);
    expect((await listSessions(viewer, { q: `job-${s.tag}` })).rows.map((r) => r.id)).toEqual([s.queued.id, s.backup.id, s.legacy.id]);
    // "_" is a character, not a LIKE wildcard.
    expect((await listSessions(viewer, { q: `Nightly_${s.tag}` })).rows).toEqual([]);
    expect(await ids({ from: ago(90_000).toISOString() })).toEqual([s.queued.id, s.backup.id]);
    expect(await ids({ to: ago(90_000).toISOString() })).toEqual([s.verify.id, s.legacy.id]);
  });

  it("pages by keyset: no row twice, none lost, the last page has no cursor", async () => {
    const tag = `jp${uniqueSuffix()}`;
    const base = Date.now() - 10 * 3600_000;
    // Two rows share each queuedAt, so the id breaks ties.
    await db.jobSession.createMany({
      data: Array.from({ length: SESSION_PAGE_SIZE + 7 }, (_, i) => ({ kind: "verify", title: `page ${tag} ${i}`, state: "success", trigger: "manual", queuedAt: new Date(base + Math.floor(i / 2) * 1000) })),
    });
    const first = await listSessions(viewer, { q: tag });
    expect(first.rows).toHaveLength(SESSION_PAGE_SIZE);
    expect(first.olderCursor).not.toBeNull();
    const second = await listSessions(viewer, { q: tag, before: first.olderCursor! });
    expect(second.rows).toHaveLength(7);
    expect(second.olderCursor).toBeNull();
    const all = [...first.rows, ...second.rows];
    expect(new Set(all.map((r) => r.id)).size).toBe(SESSION_PAGE_SIZE + 7);
    const keys = all.map((r) => [Date.parse(r.queuedAt), r.id] as const);
    for (let i = 1; i < keys.length; i++) expect(keys[i - 1][0] > keys[i][0] || (keys[i - 1][0] === keys[i][0] && keys[i - 1][1] > keys[i][1])).toBe(true);
  });

  it("refuses malformed filters with what to fix", async () => {
    await expectAppError(listSessions(viewer, { state: "exploded" }), "INVALID_INPUT");
    await expectAppError(listSessions(viewer, { from: "yesterday" }), "INVALID_INPUT");
    await expectAppError(listSessions(viewer, { from: "2026-03-02", to: "2026-03-01" }), "INVALID_INPUT");
    await expectAppError(listSessions(viewer, { before: "1' OR 1=1" }), "INVALID_INPUT");
  });
});

describe("listWorkers", () => {
  it("says which workers are alive, which stopped answering, what each runs, and each proxy's slots", async () => {
    const s = await seed();
    const stopped = await db.jobWorker.create({ data: { id: `w-stopped-${s.tag}`, role: "console", host: `console-${s.tag}`, pid: 303, heartbeatAt: ago(2000), stoppedAt: ago(1000) } });
    const out = await listWorkers(viewer);
    expect(out.deadAfterMs).toBe(WORKER_DEAD_AFTER_MS);
    const byId = new Map(out.workers.map((w) => [w.id, w]));
    expect(byId.get(s.alive.id)).toMatchObject({ alive: true, status: "alive", host: s.alive.host, pid: 101, role: "worker" });
    expect(byId.get(s.dead.id)).toMatchObject({ alive: false, status: "no-heartbeat", tasks: [] });
    // A clean stop is not alive, even with a fresh heartbeat.
    expect(byId.get(stopped.id)).toMatchObject({ alive: false, status: "stopped", role: "console" });
    // Unreadable task entries are left out; the good one links to its session and names its VM.
    expect(byId.get(s.alive.id)!.tasks).toEqual([
      { kind: "backup-vm", sessionId: s.backup.id, sessionTitle: `Nightly ${s.tag}`, href: `/sessions/${s.backup.id}`, vmExternalId: "vm-2", vmName: "web-02", since: expect.any(String) },
    ]);
    // Alive workers are listed before the dead ones, the dead before the stopped.
    const order = out.workers.map((w) => w.id);
    expect(order.indexOf(s.alive.id)).toBeLessThan(order.indexOf(s.dead.id));
    expect(order.indexOf(s.dead.id)).toBeLessThan(order.indexOf(stopped.id));

    const proxy = out.proxies.find((p) => p.externalId === s.proxy.externalId)!;
    expect(proxy).toMatchObject({ name: s.proxy.name, maxTasks: 4, inUse: 2 });
    expect(proxy.tasks.map((t) => [t.vmExternalId, t.workerHost])).toEqual([["vm-2", s.alive.host], ["vm-2", s.alive.host]]);
  });

  it("parses the tasks column defensively", () => {
    expect(parseTasks("not json")).toEqual([]);
    expect(parseTasks('{"sessionId":"x"}')).toEqual([]);
    expect(parseTasks('[{"sessionId":"s1","since":"nope"},{"sessionId":""},null]')).toEqual([{ kind: "work", sessionId: "s1", vmExternalId: null, since: null }]);
  });
});

describe("who may see the jobs view (SEC-1)", () => {
  it("follows the role map: every role with job:read may read, any other is refused; nobody signed in is refused", async () => {
    for (const role of ROLES) {
      const actor = await makeActor(role);
      if (hasPermission(role, "job:read")) {
        await expect(listSessions(actor, {})).resolves.toBeDefined();
        await expect(listWorkers(actor)).resolves.toBeDefined();
      } else {
        await expectAppError(listSessions(actor, {}), "FORBIDDEN");
        await expectAppError(listWorkers(actor), "FORBIDDEN");
      }
    }
    expect(hasPermission("BACKUP_VIEWER", "job:read")).toBe(true);
    await expectAppError(listSessions(null as unknown as Actor, {}), "UNAUTHENTICATED");
    await expectAppError(listWorkers(null as unknown as Actor), "UNAUTHENTICATED");
  });
});
