import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueSuffix } from "@/lib/testing/factories";
import { AUDIT_CSV_COLUMNS } from "@/lib/audit/audit-csv";
import { exportAuditEvents } from "./export-audit-events";
import { listAuditEvents } from "./list-audit-events";
import { recordAuditEvent } from "./record-audit-event";

let officer: Actor;
beforeAll(async () => {
  officer = await makeActor("SECURITY_OFFICER");
});

async function read(file: Awaited<ReturnType<typeof exportAuditEvents>>): Promise<string> {
  let text = "";
  for await (const chunk of file.chunks()) text += chunk;
  return text;
}

/** Splits on CRLF outside quotes and cells on commas outside quotes (RFC 4180). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let rec: string[] = [];
  let cell = "";
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ",") { rec.push(cell); cell = ""; }
    else if (c === "\r" && text[i + 1] === "\n") { rec.push(cell); out.push(rec); rec = []; cell = ""; i++; }
    else cell += c;
  }
  return out;
}

describe("exportAuditEvents", () => {
  it("writes the filtered events as CSV, oldest first, with every column, and audits the export", async () => {
    const f = `t${uniqueSuffix()}`;
    const admin = await makeActor("BACKUP_ADMIN", { email: `exp-${f}@example.test` });
    await recordAuditEvent({ actor: admin, action: `${f}.job.create`, objectType: "backup-job", objectId: "j1", outcome: "success", details: { name: "nightly, all VMs", quote: 'say "hi"' } });
    await recordAuditEvent({ actor: officer, action: `${f}.job.create`, outcome: "success" });
    await recordAuditEvent({ actor: admin, action: `${f}.kms.register`, outcome: "success" });
    await recordAuditEvent({ actor: admin, action: `${f}.job.update`, objectType: "backup-job", objectId: "j1", outcome: "failure", details: { line: "a\nb" } });

    const filters = { user: `exp-${f}`, action: `${f}.job.*` };
    const file = await exportAuditEvents(officer, { ...filters, from: "", to: "" });
    const expected = (await db.auditEvent.findMany({ where: { actorId: admin.id, action: { startsWith: `${f}.job.` } }, orderBy: { seq: "asc" } }));
    expect(expected).toHaveLength(2);
    expect(file.rowCount).toBe(2);
    expect(file.filename).toMatch(/^audit-start-\d{8}T\d{6}Z\.csv$/);

    const text = await read(file);
    expect(text.endsWith("\r\n")).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(rows).toEqual(
      expected.map((e) => [String(e.seq), e.at.toISOString(), e.actorEmail, e.action, e.objectType ?? "", e.objectId ?? "", e.outcome, e.sourceIp ?? "", e.details, e.hash, e.prevHash]),
    );
    expect(JSON.parse(rows[0][8])).toEqual({ name: "nightly, all VMs", quote: 'say "hi"' });

    // The export is in the log, with its filters and its size, by the officer, after what it exported.
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "audit.export", actorId: officer.id }, orderBy: { seq: "desc" } });
    expect(audit).toMatchObject({ outcome: "success", actorEmail: officer.email });
    expect(JSON.parse(audit.details)).toEqual({ filters, rows: 2, throughSeq: file.throughSeq, format: "csv" });
    expect(audit.seq).toBeGreaterThan(file.throughSeq);
  });

  it("agrees with the page for the same filters, and names the file after the time range", async () => {
    const f = `t${uniqueSuffix()}`;
    for (let i = 0; i < 5; i++) await recordAuditEvent({ actor: officer, action: `${f}.tick`, outcome: i % 2 ? "failure" : "success", details: { i } });
    const filters = { action: `${f}.tick`, outcome: "success", from: "2000-01-01T00:00", to: "2999-12-31T23:59:59Z" };
    const file = await exportAuditEvents(officer, filters);
    expect(file.filename).toBe("audit-20000101T0000-29991231T235959Z.csv");
    const rows = parseCsv(await read(file)).slice(1);
    const page = await listAuditEvents(officer, filters);
    expect(rows.map((r) => Number(r[0]))).toEqual(page.rows.map((r) => r.seq).reverse());
    expect(rows).toHaveLength(3);
  });

  it("leaves out events recorded while it streams (its own audit event among them)", async () => {
    const f = `t${uniqueSuffix()}`;
    await recordAuditEvent({ actor: officer, action: `${f}.a`, outcome: "success" });
    const file = await exportAuditEvents(officer, { action: `${f}.*` });
    await recordAuditEvent({ actor: officer, action: `${f}.b`, outcome: "success" });
    const rows = parseCsv(await read(file)).slice(1);
    expect(rows.map((r) => r[3])).toEqual([`${f}.a`]);
  });

  it("guards cells against formula injection: a hostile claimed email is written with a leading quote", async () => {
    const f = `t${uniqueSuffix()}`;
    await recordAuditEvent({ actor: null, claimedEmail: `=HYPERLINK("http://evil.test/${f}","x")`, action: `${f}.sign-in`, outcome: "failure" });
    await recordAuditEvent({ actor: null, claimedEmail: `+cmd-${f}@x.test`, action: `${f}.sign-in`, outcome: "failure" });
    const text = await read(await exportAuditEvents(officer, { action: `${f}.sign-in` }));
    const rows = parseCsv(text).slice(1);
    expect(rows.map((r) => r[2])).toEqual([`'=hyperlink("http://evil.test/${f}","x")`, `'+cmd-${f}@x.test`]);
    for (const r of rows) for (const cell of r) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it("holds no secret: details were redacted when recorded (SEC-6)", async () => {
    const f = `t${uniqueSuffix()}`;
    const secrets = [`pw-${f}`, `tok-${f}`, `-----BEGIN PRIVATE KEY-----\nMIIE${f}\n-----END PRIVATE KEY-----`, `Bearer abcdefghijklmnop${f}`];
    await recordAuditEvent({
      actor: officer,
      action: `${f}.secret`,
      outcome: "success",
      details: { password: secrets[0], nested: { apiToken: secrets[1] }, pem: secrets[2], error: `upstream said ${secrets[3]}`, name: "kept" },
    });
    const text = await read(await exportAuditEvents(officer, { action: `${f}.secret` }));
    for (const s of secrets) expect(text).not.toContain(s);
    expect(text).toContain("kept");
  });

  it("validates the filters like the page", async () => {
    const e = await expectAppError(exportAuditEvents(officer, { from: "2025-03-02", to: "2025-03-01" }), "INVALID_INPUT");
    expect(e.message).toContain("To is before From");
    await expectAppError(exportAuditEvents(officer, { outcome: "all" }), "INVALID_INPUT");
  });

  it("needs audit:read, and a refused export leaves nothing behind", async () => {
    const viewer = await makeActor("BACKUP_VIEWER");
    const before = await db.auditEvent.count();
    await expectAppError(exportAuditEvents(viewer, {}), "FORBIDDEN");
    expect(await db.auditEvent.count()).toBe(before);
  });
});
