import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { makeActor, uniqueSuffix } from "@/lib/testing/factories";
import { chainHash, GENESIS_HASH } from "./audit-chain";
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

// Whatever a test broke is put back, so the chain is whole again for every other test and file.
afterEach(async () => {
  while (restores.length) await restores.pop()!();
  expect((await recompute()).firstBrokenSeq).toBeNull();
});

describe("verifyAuditChain", () => {
  it("accepts an intact chain and agrees with an independent recomputation", async () => {
    await appendThree(admin);
    const report = await verifyAuditChain(officer);
    const total = await db.auditEvent.count();
    expect(report).toEqual({ ok: true, checked: total, firstBrokenSeq: null });
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
    expect(await verifyAuditChain(officer)).toEqual({ ok: false, checked, firstBrokenSeq: middle.seq });
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
  });

  it("detects a deleted middle row at the row after it", async () => {
    const [, middle, last] = await appendThree(admin);
    await db.$executeRaw`DELETE FROM "AuditEvent" WHERE "seq" = ${middle.seq}`;
    restores.push(() => db.auditEvent.create({ data: middle }));

    const checked = await db.auditEvent.count({ where: { seq: { lte: last.seq } } });
    expect(await recompute()).toEqual({ checked, firstBrokenSeq: last.seq });
    expect(await verifyAuditChain(officer)).toEqual({ ok: false, checked, firstBrokenSeq: last.seq });
  });

  it("needs audit:read", async () => {
    const viewer = await makeActor("BACKUP_VIEWER");
    await expect(verifyAuditChain(viewer)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(verifyAuditChain(admin)).resolves.toMatchObject({ ok: true });
  });
});
