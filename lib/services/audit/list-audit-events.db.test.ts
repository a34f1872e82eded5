import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueSuffix } from "@/lib/testing/factories";
import { listAuditEvents, listAuditFilterOptions } from "./list-audit-events";
import { recordAuditEvent, type AuditEventInput } from "./record-audit-event";

// Every test works on its own action family ("t<suffix>.…"), so the other rows of the shared test
// database never match; the action filter is part of every query below.

let officer: Actor;
beforeAll(async () => {
  officer = await makeActor("SECURITY_OFFICER");
});
afterEach(() => {
  vi.useRealTimers();
});

function family(): string {
  return `t${uniqueSuffix().replace(/[^a-z0-9]/g, "")}`;
}

async function record(input: Partial<AuditEventInput> & { action: string }, at?: string): Promise<number> {
  if (at) {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date(at));
  }
  try {
    await recordAuditEvent({ actor: officer, outcome: "success", ...input });
  } finally {
    if (at) vi.useRealTimers();
  }
  const row = await db.auditEvent.findFirstOrThrow({ where: { action: input.action }, orderBy: { seq: "desc" }, select: { seq: true } });
  return row.seq;
}

const seqs = async (query: Record<string, unknown>) => (await listAuditEvents(officer, query)).rows.map((r) => r.seq);

describe("listAuditEvents filters", () => {
  it("by user: part of the email in any case, or the exact actor id; nobody else's events", async () => {
    const f = family();
    const alice = await makeActor("BACKUP_ADMIN", { email: `alice-${f}@example.test` });
    const bob = await makeActor("BACKUP_ADMIN", { email: `bob-${f}@example.test` });
    const a1 = await record({ actor: alice, action: `${f}.one` });
    const b1 = await record({ actor: bob, action: `${f}.two` });
    const a2 = await record({ actor: alice, action: `${f}.three` });
    const anon = await record({ actor: null, claimedEmail: `ALICE-${f}@Example.TEST`, action: `${f}.sign-in`, outcome: "failure" });

    expect(await seqs({ action: `${f}.*`, user: `alice-${f}` })).toEqual([anon, a2, a1]);
    expect(await seqs({ action: `${f}.*`, user: `ALICE-${f.toUpperCase()}@EXAMPLE` })).toEqual([anon, a2, a1]);
    expect(await seqs({ action: `${f}.*`, user: alice.id })).toEqual([a2, a1]);
    expect(await seqs({ action: `${f}.*`, user: `bob-${f}` })).toEqual([b1]);
    expect(await seqs({ action: `${f}.*`, user: `carol-${f}` })).toEqual([]);
    // LIKE wildcards in the text are matched literally, on SQLite and PostgreSQL alike.
    expect(await seqs({ action: `${f}.*`, user: "%" })).toEqual([]);
    expect(await seqs({ action: `${f}.*`, user: "_" })).toEqual([]);
  });

  it("by user: '_', '%' and '\\' in the text are characters, not wildcards", async () => {
    const f = family();
    const under = await record({ actor: null, claimedEmail: `first_last-${f}@example.test`, action: `${f}.sign-in`, outcome: "failure" });
    await record({ actor: null, claimedEmail: `firstxlast-${f}@example.test`, action: `${f}.sign-in`, outcome: "failure" });
    const odd = await record({ actor: null, claimedEmail: `odd%\\${f}@example.test`, action: `${f}.sign-in`, outcome: "failure" });
    expect(await seqs({ action: `${f}.*`, user: `first_last-${f}` })).toEqual([under]);
    expect(await seqs({ action: `${f}.*`, user: "_" })).toEqual([under]);
    expect(await seqs({ action: `${f}.*`, user: "%" })).toEqual([odd]);
    expect(await seqs({ action: `${f}.*`, user: "\\" })).toEqual([odd]);
    expect(await seqs({ action: `${f}.*`, user: `%\\${f.toUpperCase()}` })).toEqual([odd]);
  });

  it("by action: exact, or every action under a prefix ('x.' or 'x.*'), in any case", async () => {
    const f = family();
    const create = await record({ action: `${f}.create` });
    const run = await record({ action: `${f}.run` });
    const other = await record({ action: `${f}x.create` });
    const sub = await record({ action: `${f}.run.retry` });

    expect(await seqs({ action: `${f}.create` })).toEqual([create]);
    expect(await seqs({ action: `${f}.run` })).toEqual([run]);
    expect(await seqs({ action: `${f}.` })).toEqual([sub, run, create]);
    expect(await seqs({ action: `${f}.*` })).toEqual([sub, run, create]);
    expect(await seqs({ action: `${f.toUpperCase()}.*` })).toEqual([sub, run, create]);
    expect(await seqs({ action: `${f}x.*` })).toEqual([other]);
    // A bare prefix without the dot is an exact name: nothing is called just "t…".
    expect(await seqs({ action: f })).toEqual([]);
  });

  it("by object type and id, and by outcome", async () => {
    const f = family();
    const vmA = await record({ action: `${f}.power`, objectType: "vm", objectId: `vm-${f}-A` });
    const vmB = await record({ action: `${f}.power`, objectType: "vm", objectId: `vm-${f}-B`, outcome: "failure" });
    const job = await record({ action: `${f}.run`, objectType: "backup-job", objectId: `vm-${f}-A` });
    const denied = await record({ action: `${f}.run`, outcome: "denied" });

    expect(await seqs({ action: `${f}.*`, objectType: "vm" })).toEqual([vmB, vmA]);
    expect(await seqs({ action: `${f}.*`, objectId: `vm-${f}-A` })).toEqual([job, vmA]);
    expect(await seqs({ action: `${f}.*`, objectType: "vm", objectId: `vm-${f}-A` })).toEqual([vmA]);
    expect(await seqs({ action: `${f}.*`, objectId: `VM-${f}-A` })).toEqual([]); // ids are exact
    expect(await seqs({ action: `${f}.*`, outcome: "failure" })).toEqual([vmB]);
    expect(await seqs({ action: `${f}.*`, outcome: "denied" })).toEqual([denied]);
    expect(await seqs({ action: `${f}.*`, outcome: "success" })).toEqual([job, vmA]);
  });

  it("by time range: both ends included to the precision given, zone-less times read as UTC", async () => {
    const f = family();
    const t1000 = await record({ action: `${f}.e` }, "2001-02-03T10:00:00.000Z");
    const t1005 = await record({ action: `${f}.e` }, "2001-02-03T10:05:30.000Z");
    const t1010 = await record({ action: `${f}.e` }, "2001-02-03T10:10:00.000Z");
    const nextDay = await record({ action: `${f}.e` }, "2001-02-04T00:00:00.000Z");
    const a = `${f}.e`;

    expect(await seqs({ action: a, from: "2001-02-03T10:05", to: "2001-02-03T10:05" })).toEqual([t1005]);
    expect(await seqs({ action: a, from: "2001-02-03T10:00", to: "2001-02-03T10:09" })).toEqual([t1005, t1000]);
    expect(await seqs({ action: a, from: "2001-02-03T10:00:01Z" })).toEqual([nextDay, t1010, t1005]);
    expect(await seqs({ action: a, to: "2001-02-03T10:05:29.999Z" })).toEqual([t1000]);
    expect(await seqs({ action: a, from: "2001-02-03T12:05+02:00", to: "2001-02-03T12:10+02:00" })).toEqual([t1010, t1005]);
    expect(await seqs({ action: a, from: "2001-02-03", to: "2001-02-03" })).toEqual([t1010, t1005, t1000]);
    expect(await seqs({ action: a, from: "2001-02-04" })).toEqual([nextDay]);
  });

  it("combines filters (all must match)", async () => {
    const f = family();
    const admin = await makeActor("BACKUP_ADMIN", { email: `combo-${f}@example.test` });
    await record({ actor: admin, action: `${f}.job.update`, objectType: "backup-job", objectId: "j1" }, "2001-05-01T08:00:00Z");
    const hit = await record({ actor: admin, action: `${f}.job.encryption-change`, objectType: "backup-job", objectId: "j1" }, "2001-05-01T09:00:00Z");
    await record({ action: `${f}.job.encryption-change`, objectType: "backup-job", objectId: "j1" }, "2001-05-01T09:00:00Z");
    await record({ actor: admin, action: `${f}.job.encryption-change`, objectType: "backup-job", objectId: "j2" }, "2001-05-01T09:00:00Z");
    await record({ actor: admin, action: `${f}.job.encryption-change`, objectType: "backup-job", objectId: "j1", outcome: "failure" }, "2001-05-01T09:00:00Z");
    expect(
      await seqs({ user: `combo-${f}`, action: `${f}.job.*`, objectType: "backup-job", objectId: "j1", outcome: "success", from: "2001-05-01T08:30", to: "2001-05-01T10:00" }),
    ).toEqual([hit]);
  });
});

describe("listAuditEvents paging", () => {
  it("pages newest first by seq, back with `before` and forward with `after`, counting every match", async () => {
    const f = family();
    const all: number[] = [];
    for (let i = 0; i < 120; i++) all.push(await record({ action: `${f}.tick`, details: { i } }));
    all.reverse(); // newest first
    const action = `${f}.tick`;

    const p1 = await listAuditEvents(officer, { action });
    expect(p1).toMatchObject({ total: 120, pageSize: 50, newerCursor: null, olderCursor: all[49] });
    expect(p1.rows.map((r) => r.seq)).toEqual(all.slice(0, 50));

    const p2 = await listAuditEvents(officer, { action, before: p1.olderCursor });
    expect(p2.rows.map((r) => r.seq)).toEqual(all.slice(50, 100));
    expect(p2).toMatchObject({ newerCursor: all[50], olderCursor: all[99] });

    const p3 = await listAuditEvents(officer, { action, before: String(p2.olderCursor) });
    expect(p3.rows.map((r) => r.seq)).toEqual(all.slice(100));
    expect(p3).toMatchObject({ newerCursor: all[100], olderCursor: null });

    const back = await listAuditEvents(officer, { action, after: p3.newerCursor });
    expect(back.rows.map((r) => r.seq)).toEqual(all.slice(50, 100));
    const first = await listAuditEvents(officer, { action, after: back.newerCursor });
    expect(first.rows.map((r) => r.seq)).toEqual(all.slice(0, 50));
    expect(first.newerCursor).toBeNull();

    const big = await listAuditEvents(officer, { action, pageSize: "100" });
    expect(big.rows).toHaveLength(100);
    const whole = await listAuditEvents(officer, { action, pageSize: 200 });
    expect(whole.rows.map((r) => r.seq)).toEqual(all);
    expect(whole).toMatchObject({ newerCursor: null, olderCursor: null });

    // Past the end: an empty page, no cursors.
    expect(await listAuditEvents(officer, { action, before: all[119] })).toMatchObject({ rows: [], total: 120, newerCursor: null, olderCursor: null });
  });

  it("lists the newest events of the whole log without filters, with what the table shows", async () => {
    const f = family();
    const seq = await record({ action: `${f}.latest`, objectType: "thing", objectId: "t-1", details: { n: 1 } });
    const page = await listAuditEvents(officer);
    expect(page.rows[0]).toMatchObject({ seq, action: `${f}.latest`, actorEmail: officer.email, actorId: officer.id, objectType: "thing", objectId: "t-1", details: '{"n":1}' });
    expect(page.rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(page.total).toBe(await db.auditEvent.count());
  });
});

describe("listAuditEvents validation", () => {
  it.each([
    [{ from: "2001-02-03T10:00", to: "2001-02-03T09:59" }, "To is before From"],
    [{ from: "yesterday" }, "From is not a date and time"],
    [{ to: "2001-02-30" }, "To is not a date and time"],
    [{ pageSize: 25 }, "Page size must be 50, 100 or 200"],
    [{ action: "*" }, "a '*' may only end a prefix"],
    [{ action: "job;drop" }, "letters, digits"],
    [{ action: "job_" }, "letters, digits"],
    [{ outcome: "maybe" }, "Outcome must be success, failure or denied"],
    [{ before: 10, after: 5 }, "either before or after"],
    [{ before: "abc" }, "before"],
    [{ user: "x".repeat(255) }, "User is too long"],
  ])("refuses %j with a clear message", async (query, message) => {
    const e = await expectAppError(listAuditEvents(officer, query), "INVALID_INPUT");
    expect(e.message).toContain(message);
  });

  it("accepts an empty From or To, and From equal to To", async () => {
    await expect(listAuditEvents(officer, { from: "", to: "" })).resolves.toBeDefined();
    await expect(listAuditEvents(officer, { from: "2001-02-03T10:00", to: "2001-02-03T10:00" })).resolves.toBeDefined();
  });
});

describe("listAuditFilterOptions", () => {
  it("offers every action and object type in the log, sorted, once each", async () => {
    const f = family();
    await record({ action: `${f}.b`, objectType: `type-${f}` });
    await record({ action: `${f}.a`, objectType: `type-${f}` });
    await record({ action: `${f}.a` });
    const options = await listAuditFilterOptions(officer);
    expect(options.actions.filter((a) => a.startsWith(f))).toEqual([`${f}.a`, `${f}.b`]);
    expect(options.objectTypes.filter((t) => t === `type-${f}`)).toHaveLength(1);
    expect(options.actions).toEqual([...options.actions].sort());
    expect(options.objectTypes).not.toContain(null);
  });
});
