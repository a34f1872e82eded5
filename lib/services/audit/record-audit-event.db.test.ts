import { describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { makeActor, uniqueIp, uniqueSuffix } from "@/lib/testing/factories";
import { chainHash, GENESIS_HASH } from "./audit-chain";
import { recordAuditEvent } from "./record-audit-event";

describe("recordAuditEvent", () => {
  it("appends one chained row with the actor, the object and the outcome", async () => {
    const actor = await makeActor("BACKUP_ADMIN");
    const action = `test.record-${uniqueSuffix()}`;
    const before = await db.auditEvent.findFirst({ orderBy: { seq: "desc" } });
    await recordAuditEvent({ actor, action, objectType: "thing", objectId: "t-1", outcome: "denied", details: { why: "test" } });
    const row = await db.auditEvent.findFirstOrThrow({ where: { action } });
    expect(row).toMatchObject({
      actorId: actor.id,
      actorEmail: actor.email,
      sourceIp: actor.sourceIp,
      objectType: "thing",
      objectId: "t-1",
      outcome: "denied",
      details: '{"why":"test"}',
      prevHash: before?.hash ?? GENESIS_HASH,
    });
    expect(row.hash).toBe(chainHash(row.prevHash, row));
  });

  it("records who an anonymous event claimed to be", async () => {
    const action = `test.anonymous-${uniqueSuffix()}`;
    const ip = uniqueIp();
    await recordAuditEvent({ actor: null, claimedEmail: "someone@example.com", sourceIp: ip, action, outcome: "failure" });
    const row = await db.auditEvent.findFirstOrThrow({ where: { action } });
    expect(row).toMatchObject({ actorId: null, actorEmail: "someone@example.com", sourceIp: ip, details: "{}" });
  });

  it("stores emails in lower case, so the user filter matches alike on SQLite and PostgreSQL", async () => {
    const action = `test.lower-${uniqueSuffix()}`;
    await recordAuditEvent({ actor: null, claimedEmail: "Someone.Else@Example.COM", action, outcome: "failure" });
    const row = await db.auditEvent.findFirstOrThrow({ where: { action } });
    expect(row.actorEmail).toBe("someone.else@example.com");
    expect(row.hash).toBe(chainHash(row.prevHash, row));
  });

  it("redacts values that are a private key or a bearer credential whatever their name, and key names of client keys, API keys, cookies (SEC-6)", async () => {
    const actor = await makeActor("BACKUP_ADMIN");
    const action = `test.redact-values-${uniqueSuffix()}`;
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretsecret\n-----END RSA PRIVATE KEY-----";
    await recordAuditEvent({
      actor,
      action,
      outcome: "failure",
      details: { error: `could not load ${pem}`, header: "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", clientKey: "ck-0123456789", apiKey: "ak-0123456789", cookie: "sid=0123456789", keyId: "kept-key-id", certificate: "-----BEGIN CERTIFICATE-----kept" },
    });
    const row = await db.auditEvent.findFirstOrThrow({ where: { action } });
    for (const s of ["MIIEsecretsecret", "eyJhbGciOiJIUzI1NiJ9", "ck-0123456789", "ak-0123456789", "sid=0123456789"]) expect(row.details).not.toContain(s);
    expect(JSON.parse(row.details)).toMatchObject({ error: "[redacted]", header: "[redacted]", clientKey: "[redacted]", apiKey: "[redacted]", cookie: "[redacted]", keyId: "kept-key-id", certificate: "-----BEGIN CERTIFICATE-----kept" });
  });

  it("redacts details whose names suggest a secret, at any depth (SEC-6)", async () => {
    const actor = await makeActor("BACKUP_ADMIN");
    const action = `test.redact-${uniqueSuffix()}`;
    const secrets = ["pw-0123456789", "npw-0123456789", "cs-0123456789", "tok-0123456789", "pk-0123456789", "km-0123456789", "uw-0123456789", "pp-0123456789"];
    await recordAuditEvent({
      actor,
      action,
      outcome: "success",
      details: {
        password: secrets[0],
        newPassword: secrets[1],
        nested: { clientSecret: secrets[2], apiToken: secrets[3], privateKey: secrets[4] },
        list: [{ keyMaterial: secrets[5] }, { unwrappedKey: secrets[6] }],
        passphrase: secrets[7],
        email: "kept@example.com",
        count: 3,
      },
    });
    const row = await db.auditEvent.findFirstOrThrow({ where: { action } });
    for (const s of secrets) expect(row.details).not.toContain(s);
    expect(JSON.parse(row.details)).toEqual({
      password: "[redacted]",
      newPassword: "[redacted]",
      nested: { clientSecret: "[redacted]", apiToken: "[redacted]", privateKey: "[redacted]" },
      list: [{ keyMaterial: "[redacted]" }, { unwrappedKey: "[redacted]" }],
      passphrase: "[redacted]",
      email: "kept@example.com",
      count: 3,
    });
    // The hash covers what was stored (the redacted text), so the chain still verifies.
    expect(row.hash).toBe(chainHash(row.prevHash, row));
  });

  it("inside a caller's transaction, is rolled back with it", async () => {
    const action = `test.rollback-${uniqueSuffix()}`;
    await expect(
      db.$transaction(async (tx) => {
        await recordAuditEvent({ actor: null, claimedEmail: "system", action, outcome: "success" }, tx);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await db.auditEvent.count({ where: { action } })).toBe(0);
  });
});
