import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { makeActor, uniqueSuffix } from "@/lib/testing/factories";
import { chainHash, GENESIS_HASH } from "./audit-chain";
import { checkpointPath, REPOSITORY_ANCHOR_FILE } from "./audit-anchor";
import { checkpointAuditChain } from "./checkpoint-audit-chain";
import { recordAuditEvent } from "./record-audit-event";
import { verifyAuditChain } from "./verify-audit-chain";

type Row = Awaited<ReturnType<typeof db.auditEvent.findFirstOrThrow>>;

/** The chain recomputed here, independently of the service: the first seq that does not link. */
async function recompute(): Promise<{ checked: number; firstBrokenSeq: number | null }> {
  const rows = await db.auditEvent.findMany({ orderBy: { seq: "asc" } });
  let prev = GENESIS_HASH;
  for (const [i, row] of rows.entries()) {
    if (row.prevHash !== prev || row.hash !== chainHash(prev, row)) return { checked: i + 1, firstBrokenSeq: row.seq };
    prev = row.hash;
  }
  return { checked: rows.length, firstBrokenSeq: null };
}

/** Three fresh events at the tail; tests tamper with the middle one and restore it afterwards. */
async function appendThree(actor: Actor): Promise<[Row, Row, Row]> {
  const action = `test.chain-${uniqueSuffix()}`;
  for (const n of [1, 2, 3]) await recordAuditEvent({ actor, action, outcome: "success", details: { n } });
  const rows = await db.auditEvent.findMany({ where: { action }, orderBy: { seq: "asc" } });
  expect(rows).toHaveLength(3);
  return rows as [Row, Row, Row];
}

let officer: Actor;
let admin: Actor;
const restores: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  officer = await makeActor("SECURITY_OFFICER");
  admin = await makeActor("BACKUP_ADMIN");
});

/** Anchors name rows the tests here delete and put back; earlier files' workers (the audit-checkpoint job) may have written some too. */
async function removeAnchors() {
  fs.rmSync(checkpointPath(), { force: true });
  for (const r of await db.backupRepository.findMany({ select: { path: true } })) fs.rmSync(path.join(r.path, REPOSITORY_ANCHOR_FILE), { force: true });
}
beforeEach(removeAnchors);

// Whatever a test broke is put back, so the chain is whole again for every other test and file.
afterEach(async () => {
  while (restores.length) await restores.pop()!();
  await removeAnchors();
  expect((await recompute()).firstBrokenSeq).toBeNull();
});

describe("verifyAuditChain", () => {
  it("accepts an intact chain and agrees with an independent recomputation", async () => {
    await appendThree(admin);
    const report = await verifyAuditChain(officer);
    const total = await db.auditEvent.count();
    const tail = await db.auditEvent.findFirstOrThrow({ orderBy: { seq: "desc" } });
    expect(report).toEqual({ ok: true, checked: total, firstBrokenSeq: null, problem: null, tail: { seq: tail.seq, hash: tail.hash, at: tail.at.toISOString() }, anchors: { found: 0, newest: null } });
    expect(await recompute()).toEqual({ checked: total, firstBrokenSeq: null });
  });

  it("every row links to the one before it, starting from the genesis hash", async () => {
    await appendThree(admin);
    const rows = await db.auditEvent.findMany({ orderBy: { seq: "asc" } });
    expect(rows[0].prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i].prevHash).toBe(rows[i - 1].hash);
  });

  it("detects a row whose details were edited directly in the database", async () => {
    const [, middle] = await appendThree(admin);
    await db.$executeRaw`UPDATE "AuditEvent" SET "details" = ${'{"n":"edited"}'} WHERE "seq" = ${middle.seq}`;
    restores.push(() => db.$executeRaw`UPDATE "AuditEvent" SET "details" = ${middle.details} WHERE "seq" = ${middle.seq}`);

    const checked = await db.auditEvent.count({ where: { seq: { lte: middle.seq } } });
    expect(await recompute()).toEqual({ checked, firstBrokenSeq: middle.seq });
    expect(await verifyAuditChain(officer)).toMatchObject({
      ok: false,
      checked,
      firstBrokenSeq: middle.seq,
      problem: { kind: "edited", seq: middle.seq, message: `Entry #${middle.seq} was changed after it was written: its fields no longer match its hash.` },
    });
  });

  it("detects an edited outcome (prisma update) as an edit of that row", async () => {
    const [, middle] = await appendThree(admin);
    await db.auditEvent.update({ where: { seq: middle.seq }, data: { outcome: "failure" } });
    restores.push(() => db.auditEvent.update({ where: { seq: middle.seq }, data: { outcome: middle.outcome } }));
    expect(await verifyAuditChain(officer)).toMatchObject({ ok: false, firstBrokenSeq: middle.seq, problem: { kind: "edited", seq: middle.seq } });
  });

  it("detects an edited row even when the editor recomputed its hash: the next row no longer links", async () => {
    const [, middle, last] = await appendThree(admin);
    const forged = chainHash(middle.prevHash, { ...middle, outcome: "failure" });
    await db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = ${"failure"}, "hash" = ${forged} WHERE "seq" = ${middle.seq}`;
    restores.push(() => db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = ${middle.outcome}, "hash" = ${middle.hash} WHERE "seq" = ${middle.seq}`);

    const report = await verifyAuditChain(officer);
    expect(report.ok).toBe(false);
    expect(report.firstBrokenSeq).toBe(last.seq);
    expect((await recompute()).firstBrokenSeq).toBe(last.seq);
    // No gap in seq before the break: the row before it was rewritten, not removed.
    expect(report.problem).toEqual({
      kind: "edited",
      seq: middle.seq,
      message: `Entry #${middle.seq} was edited and its hash recomputed to hide it: entry #${last.seq} after it still carries the original hash.`,
    });
  });

  it("detects a deleted middle row at the row after it", async () => {
    const [, middle, last] = await appendThree(admin);
    await db.$executeRaw`DELETE FROM "AuditEvent" WHERE "seq" = ${middle.seq}`;
    restores.push(() => db.auditEvent.create({ data: middle }));

    const checked = await db.auditEvent.count({ where: { seq: { lte: last.seq } } });
    expect(await recompute()).toEqual({ checked, firstBrokenSeq: last.seq });
    expect(await verifyAuditChain(officer)).toMatchObject({
      ok: false,
      checked,
      firstBrokenSeq: last.seq,
      problem: { kind: "deleted", seq: last.seq, message: `Entry #${last.seq} follows an entry that is no longer there: entry #${middle.seq} was deleted.` },
    });
  });

  it("detects several deleted rows in a row, naming the gap", async () => {
    const [first] = await appendThree(admin);
    const [, , fourth] = await appendThree(admin);
    // Four rows between them (the first batch's last two, the second batch's first two) go.
    const between = await db.auditEvent.findMany({ where: { seq: { gt: first.seq, lt: fourth.seq } }, orderBy: { seq: "asc" } });
    expect(between).toHaveLength(4);
    await db.$executeRaw`DELETE FROM "AuditEvent" WHERE "seq" > ${first.seq} AND "seq" < ${fourth.seq}`;
    restores.push(async () => {
      for (const row of between) await db.auditEvent.create({ data: row });
    });
    const report = await verifyAuditChain(officer);
    expect(report).toMatchObject({ ok: false, firstBrokenSeq: fourth.seq, problem: { kind: "deleted", seq: fourth.seq } });
    expect(report.problem!.message).toContain(`one or more of entries #${first.seq + 1}–#${fourth.seq - 1} were deleted`);
  });

  it("detects rows deleted at the start of the log, at the new first row", async () => {
    await appendThree(admin);
    const genesis = await db.auditEvent.findFirstOrThrow({ orderBy: { seq: "asc" } });
    expect(genesis.prevHash).toBe(GENESIS_HASH);
    await db.$executeRaw`DELETE FROM "AuditEvent" WHERE "seq" = ${genesis.seq}`;
    restores.push(() => db.auditEvent.create({ data: genesis }));
    const next = await db.auditEvent.findFirstOrThrow({ orderBy: { seq: "asc" } });
    expect(await verifyAuditChain(officer)).toMatchObject({ ok: false, checked: 1, firstBrokenSeq: next.seq, problem: { kind: "deleted", seq: next.seq } });
  });

  it("detects reordered rows (seq numbers swapped) at the first misplaced row, naming the row it follows", async () => {
    const [, middle, last] = await appendThree(admin);
    const swap = async (a: number, b: number) => {
      await db.$executeRaw`UPDATE "AuditEvent" SET "seq" = ${-1} WHERE "seq" = ${a}`;
      await db.$executeRaw`UPDATE "AuditEvent" SET "seq" = ${a} WHERE "seq" = ${b}`;
      await db.$executeRaw`UPDATE "AuditEvent" SET "seq" = ${b} WHERE "seq" = ${-1}`;
    };
    await swap(middle.seq, last.seq);
    restores.push(() => swap(middle.seq, last.seq));
    // Now the old last row sits at middle.seq: it follows the old middle, which sits after it.
    expect(await verifyAuditChain(officer)).toMatchObject({
      ok: false,
      firstBrokenSeq: middle.seq,
      problem: { kind: "reordered", seq: middle.seq, message: `Entry #${middle.seq} follows entry #${last.seq}, not #${middle.seq - 1} before it: entry numbers were changed (entries reordered).` },
    });
  });

  it("cannot see rows removed from the end by the chain alone; the reported tail shows it against one noted earlier", async () => {
    const [, middle, last] = await appendThree(admin);
    const noted = (await verifyAuditChain(officer)).tail;
    expect(noted).toEqual({ seq: last.seq, hash: last.hash, at: last.at.toISOString() });

    await db.$executeRaw`DELETE FROM "AuditEvent" WHERE "seq" = ${last.seq}`;
    restores.push(() => db.auditEvent.create({ data: last }));

    const report = await verifyAuditChain(officer);
    // What the chain cannot tell: every remaining row still links.
    expect(report).toMatchObject({ ok: true, firstBrokenSeq: null, problem: null });
    // What can: the newest entry is now older than the one noted before.
    expect(report.tail).toEqual({ seq: middle.seq, hash: middle.hash, at: middle.at.toISOString() });
    expect(report.tail!.seq).toBeLessThan(noted!.seq);
  });

  it("the chain is keyed: an edit with every later hash recomputed (plain SHA-256, no key) is detected", async () => {
    const [, middle, last] = await appendThree(admin);
    const sha = (prev: string, r: Row) =>
      createHash("sha256").update(prev).update("\n").update(JSON.stringify([r.at.toISOString(), r.actorId, r.actorEmail, r.action, r.objectType, r.objectId, r.outcome, r.sourceIp, r.details])).digest("hex");
    const edited = { ...middle, outcome: "failure" };
    const editedHash = sha(middle.prevHash, edited);
    const lastHash = sha(editedHash, last);
    await db.auditEvent.update({ where: { seq: last.seq }, data: { prevHash: `x${last.prevHash}`, hash: `x${last.hash}` } });
    await db.auditEvent.update({ where: { seq: middle.seq }, data: { outcome: "failure", hash: editedHash } });
    await db.auditEvent.update({ where: { seq: last.seq }, data: { prevHash: editedHash, hash: lastHash } });
    restores.push(async () => {
      await db.auditEvent.update({ where: { seq: last.seq }, data: { prevHash: `y${last.prevHash}`, hash: `y${last.hash}` } });
      await db.auditEvent.update({ where: { seq: middle.seq }, data: { outcome: middle.outcome, hash: middle.hash } });
      await db.auditEvent.update({ where: { seq: last.seq }, data: { prevHash: last.prevHash, hash: last.hash } });
    });
    const report = await verifyAuditChain(officer);
    expect(report).toMatchObject({ ok: false, firstBrokenSeq: middle.seq, problem: { kind: "edited", seq: middle.seq } });
  });

  it("an untouched chain verifies against its checkpoint and repository anchors", async () => {
    await appendThree(admin);
    const cp = await checkpointAuditChain();
    expect(cp.written).toContain(checkpointPath());
    const tail = await db.auditEvent.findFirstOrThrow({ orderBy: { seq: "desc" } });
    const report = await verifyAuditChain(officer);
    expect(report).toMatchObject({ ok: true, problem: null, anchors: { newest: { seq: tail.seq } } });
    expect(report.anchors.found).toBeGreaterThanOrEqual(1);
    // Nothing new: the checkpoint is not rewritten.
    expect((await checkpointAuditChain()).written).toEqual([]);
  });

  it("rows deleted from the end after a checkpoint are detected (the head is older than the anchor)", async () => {
    const [first, middle, last] = await appendThree(admin);
    await checkpointAuditChain();
    await db.$executeRaw`DELETE FROM "AuditEvent" WHERE "seq" >= ${middle.seq}`;
    restores.push(async () => {
      await db.auditEvent.create({ data: middle });
      await db.auditEvent.create({ data: last });
    });
    const report = await verifyAuditChain(officer);
    expect(report).toMatchObject({ ok: false, firstBrokenSeq: last.seq, problem: { kind: "truncated", seq: last.seq } });
    expect(report.problem!.message).toContain(`newest entry is #${first.seq}`);
    // The next checkpoint does not move the anchor back to the shortened log.
    await checkpointAuditChain();
    expect(await verifyAuditChain(officer)).toMatchObject({ ok: false, problem: { kind: "truncated" } });
  });

  it("an anchor file not signed with the audit key is reported", async () => {
    const [, , last] = await appendThree(admin);
    fs.writeFileSync(checkpointPath(), JSON.stringify({ v: 1, seq: last.seq, hash: last.hash, at: new Date().toISOString(), mac: "00".repeat(32) }));
    expect(await verifyAuditChain(officer)).toMatchObject({ ok: false, problem: { kind: "anchor-forged" } });
  });

  it("needs audit:read", async () => {
    const viewer = await makeActor("BACKUP_VIEWER");
    await expect(verifyAuditChain(viewer)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(verifyAuditChain(admin)).resolves.toMatchObject({ ok: true });
  });
});
