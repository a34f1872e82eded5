// The standard key provider against a real PyKMIP server (lib/kmip/testing/pykmip-server.ts makes
// the CA, server and client certificates and runs the server). PyKMIP missing is a failure that
// names `apt-get install -y python3-pykmip`, not a skip.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { KmipClient } from "../../../kmip";
import { startPykmipServer, type Identity, type PykmipServer } from "../../../kmip/testing/pykmip-server";
import { generateVmSecrets, openBundle, sealBundle } from "./bundle";
import { KEK_USAGE_MASK, KmipKeyProvider } from "./kmip-key-provider";
import { KeyProviderError } from "./types";

let server: PykmipServer | undefined;
let startError: unknown;
const providers: KmipKeyProvider[] = [];

function srv(): PykmipServer {
  if (startError) throw startError;
  if (!server) throw new Error("the PyKMIP server is not running");
  return server;
}

function provider(who?: Identity, cacheTtlMs?: number): KmipKeyProvider {
  const s = srv();
  const id = who ?? s.clientA;
  const client = new KmipClient({ host: s.host, port: s.port, ca: s.ca, cert: id.cert, key: id.key, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 });
  const kp = new KmipKeyProvider({ providerId: "kp-prod-acme", client, cacheTtlMs });
  providers.push(kp);
  return kp;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KeyProviderError);
    return (e as KeyProviderError).code;
  }
  throw new Error("expected a KeyProviderError");
}

beforeAll(async () => {
  try {
    server = await startPykmipServer();
  } catch (err) {
    startError = err;
  }
});

afterAll(async () => {
  await Promise.allSettled(providers.map((p) => p.close()));
  await server?.stop();
});

describe("KmipKeyProvider against a real PyKMIP server", () => {
  let created: string;

  it("creates an active AES-256 KEK (Encrypt|Decrypt|WrapKey|UnwrapKey) and gets its 32 bytes", async () => {
    const kp = provider();
    created = await kp.createKey();
    const key = await kp.getKey(created);
    expect(key).toHaveLength(32);
    expect((await kp.getKey(created)).equals(key)).toBe(true);

    const s = srv();
    const admin = new KmipClient({ host: s.host, port: s.port, ca: s.ca, cert: s.clientA.cert, key: s.clientA.key });
    try {
      const attrs = await admin.getAttributes(created);
      expect(attrs.state).toBe("Active");
      expect(attrs.cryptographicUsageMask).toBe(KEK_USAGE_MASK);
    } finally {
      await admin.close();
    }
  });

  it("seals and opens a VM's encryption.bundle with a KEK from the KMS", async () => {
    const kp = provider(undefined, 0);
    const keyId = await kp.createKey();
    const secrets = generateVmSecrets([2000]);
    const bundle = await sealBundle(secrets, kp, keyId);
    const opened = await openBundle(bundle, provider(undefined, 0));
    expect(opened.secrets.diskKeys.get(2000)!.equals(secrets.diskKeys.get(2000)!)).toBe(true);
  });

  it("an unknown id ⇒ key-not-found", async () => {
    expect(await codeOf(provider().getKey("999999"))).toBe("key-not-found");
  });

  it("another client identity (CN) ⇒ permission-denied", async () => {
    expect(await codeOf(provider(srv().clientB).getKey(created))).toBe("permission-denied");
  });

  it("a certificate from an unrelated CA is refused by the KMS ⇒ unreachable, never a key", async () => {
    expect(await codeOf(provider(srv().stranger).getKey(created))).toBe("unreachable");
  });

  it("server stopped ⇒ unreachable; a KEK fetched before stays usable from the cache", async () => {
    const cached = provider();
    const before = await cached.getKey(created);
    const uncached = provider(undefined, 0);
    await uncached.getKey(created); // an established connection, then the KMS goes away
    await srv().stop();
    expect(await codeOf(uncached.getKey(created))).toBe("unreachable");
    expect(await codeOf(provider().getKey(created))).toBe("unreachable");
    expect((await cached.getKey(created)).equals(before)).toBe(true);
  });
});
