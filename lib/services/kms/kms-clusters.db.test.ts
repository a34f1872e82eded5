// KMS cluster registration and monitoring against a real PyKMIP server (VME-4, VME-3).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db/client";
import { startPykmipServer, type PykmipServer } from "@/lib/kmip/testing/pykmip-server";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor, uniqueEmail } from "@/lib/testing/factories";
import { testKmsPems } from "@/lib/testing/kms-fixtures";
import { syncInventoryFromPlatform } from "../inventory/sync-inventory";
import { checkKmsCluster } from "./check-kms-clusters";
import { listKmsClusters } from "./list-kms-clusters";
import { registerKmsCluster } from "./register-kms-cluster";
import { removeKmsCluster } from "./remove-kms-cluster";
import { testKmsConnection } from "./test-kms-connection";

let kms: PykmipServer;
let admin: Awaited<ReturnType<typeof makeActor>>;
const pemsOf = (s: PykmipServer) => ({ caPem: s.ca.toString(), clientCertPem: s.clientA.cert.toString(), clientKeyPem: s.clientA.key.toString() });

beforeAll(async () => {
  await syncInventoryFromPlatform();
  admin = await makeActor("BACKUP_ADMIN");
  kms = await startPykmipServer({ keepDir: true });
}, 60_000);
afterAll(async () => {
  await kms?.stop();
});

describe("registering a KMS cluster", () => {
  it("refuses a key that does not belong to the certificate, with a field error and no row", async () => {
    const p = testKmsPems();
    const name = uniqueEmail("mismatch");
    const e = await expectAppError(registerKmsCluster(admin, { name, servers: "127.0.0.1:1", caPem: p.caPem, clientCertPem: p.clientCertPem, clientKeyPem: p.otherKeyPem }), "INVALID_INPUT");
    expect(e.fieldErrors?.clientKeyPem?.[0]).toMatch(/does not belong/);
    expect(e.message).not.toContain("PRIVATE KEY");
    expect(await db.kmsCluster.count({ where: { name } })).toBe(0);
  });

  it("refuses garbage PEMs and bad server lists with messages that name the field", async () => {
    const p = testKmsPems();
    const e1 = await expectAppError(registerKmsCluster(admin, { name: "x", servers: "not a host:99999", ...p }), "INVALID_INPUT");
    expect(e1.fieldErrors?.servers?.[0]).toMatch(/host:port/);
    const e2 = await expectAppError(registerKmsCluster(admin, { name: "x", servers: "127.0.0.1", ...p, caPem: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----" }), "INVALID_INPUT");
    expect(e2.fieldErrors?.caPem?.[0]).toMatch(/could not be read/);
  });

  it("stores certificates and the key sealed, never in the clear, and shows only public facts", async () => {
    const name = uniqueEmail("sealed");
    const dto = await registerKmsCluster(admin, { name, servers: "127.0.0.1:1", ...testKmsPems() });
    const row = await db.kmsCluster.findUniqueOrThrow({ where: { id: dto.id } });
    for (const v of Object.values(row)) expect(String(v)).not.toMatch(/BEGIN (CERTIFICATE|PRIVATE KEY|RSA PRIVATE KEY)/);
    expect(JSON.stringify(dto)).not.toMatch(/BEGIN/);
    expect(dto.clientCertSubject).toContain("CN=strongroom-a");
    expect(dto.status).toBe("unreachable");
    await expectAppError(registerKmsCluster(admin, { name, servers: "127.0.0.1:1", ...testKmsPems() }), "CONFLICT");
    await removeKmsCluster(admin, { clusterId: dto.id });
  });

  it("test connection reports the server identity and KMIP versions, or why it failed", async () => {
    const ok = await testKmsConnection(admin, { name: "t", servers: `127.0.0.1:${kms.port}`, ...pemsOf(kms) });
    expect(ok).toMatchObject({ ok: true, server: `127.0.0.1:${kms.port}` });
    if (ok.ok) {
      expect(ok.versions).toContain("1.4");
      expect(ok.serverSubject).toContain("CN=127.0.0.1");
    }
    const wrongCa = await testKmsConnection(admin, { name: "t", servers: `127.0.0.1:${kms.port}`, ...pemsOf(kms), caPem: kms.otherCa.toString() });
    expect(wrongCa.ok).toBe(false);
    if (!wrongCa.ok) expect(wrongCa.error).toMatch(/certificate/i);
  });
});

describe("monitoring a registered cluster", () => {
  it("goes reachable → unreachable (since the first failure) → reachable again, auditing each change", async () => {
    const acme = await db.keyProvider.findMany({ where: { name: "Acme Logistics KMS" }, select: { id: true } });
    const dto = await registerKmsCluster(admin, { name: uniqueEmail("acme-kms"), servers: `127.0.0.1:${kms.port}`, ...pemsOf(kms), keyProviderIds: acme.map((k) => k.id) });
    expect(dto.status).toBe("reachable");
    expect(dto.kmipVersions).toContain("1.4");
    expect(dto.keyProviders.map((k) => k.id).sort()).toEqual(acme.map((k) => k.id).sort());

    const { dir, port } = kms;
    await kms.stop();
    expect((await checkKmsCluster(dto.id)).ok).toBe(false);
    const down1 = await db.kmsCluster.findUniqueOrThrow({ where: { id: dto.id } });
    expect(down1.status).toBe("unreachable");
    expect(down1.unreachableSince).not.toBeNull();
    expect(down1.lastError).toMatch(/refused|ECONNREFUSED/i);
    await checkKmsCluster(dto.id);
    const down2 = await db.kmsCluster.findUniqueOrThrow({ where: { id: dto.id } });
    expect(down2.unreachableSince).toEqual(down1.unreachableSince);

    kms = await startPykmipServer({ keepDir: true, reuse: { dir, port } });
    expect((await checkKmsCluster(dto.id)).ok).toBe(true);
    const up = (await listKmsClusters(admin)).find((c) => c.id === dto.id)!;
    expect(up.status).toBe("reachable");
    expect(up.unreachableSince).toBeNull();

    const changes = await db.auditEvent.findMany({ where: { action: "kms.status-change", objectId: dto.id }, orderBy: { seq: "asc" } });
    expect(changes.map((c) => JSON.parse(c.details).to)).toEqual(["reachable", "unreachable", "reachable"]);
  }, 90_000);
});
