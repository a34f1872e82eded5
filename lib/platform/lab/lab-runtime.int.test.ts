// The lab connector with a real KMS: PyKMIP (lib/kmip/testing/pykmip-server.ts) as the standard key
// provider of one tenant. An encrypted VM gets its KEK from the KMS when its files are created,
// powers on while the KMS answers, and cannot power on once the KMS is gone and the host's KEK cache
// has been forgotten (VME-3). PyKMIP missing is a failure naming `apt-get install -y python3-pykmip`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { KmipClient } from "../../kmip";
import { startPykmipServer, type PykmipServer } from "../../kmip/testing/pykmip-server";
import { HostError, KeyProviderError, KmipKeyProvider } from "./data-plane";
import { useTempFolder } from "./data-plane/testing/temp-folder";
import { LabConnector } from "./lab-connector";
import { nativeOnlyKeySources, type LabKeySources } from "./lab-key-sources";
import { isNative, pickVm, rejection } from "./testing/lab-fixtures";

let server: PykmipServer | undefined;
let startError: unknown;
let kms: KmipKeyProvider | undefined;
const folder = useTempFolder("strongroom-lab-kmip-");

const vm = pickVm("KMS-encrypted VM", (v) => v.encrypted && !v.vtpm && !isNative(v));
const sibling = pickVm("another VM of the same KMS", (v) => v.encrypted && v.keyProviderExternalId === vm.keyProviderExternalId && v.externalId !== vm.externalId);

function srv(): PykmipServer {
  if (startError) throw startError;
  if (!server) throw new Error("the PyKMIP server is not running");
  return server;
}

/** What the services layer does: the registered KMS cluster for its provider, native for the rest. */
function keySources(labFolder: string): LabKeySources {
  const native = nativeOnlyKeySources(labFolder);
  return {
    async forProvider(p) {
      if (p.keyProviderExternalId !== vm.keyProviderExternalId) return native.forProvider(p);
      if (!kms) {
        const s = srv();
        const client = new KmipClient({ host: s.host, port: s.port, ca: s.ca, cert: s.clientA.cert, key: s.clientA.key, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 });
        kms = new KmipKeyProvider({ providerId: p.keyProviderExternalId, client });
      }
      return kms;
    },
  };
}

beforeAll(async () => {
  try {
    server = await startPykmipServer();
  } catch (err) {
    startError = err;
  }
});

afterAll(async () => {
  await kms?.close().catch(() => undefined);
  await server?.stop();
});

describe("LabConnector with a real KMS (PyKMIP)", () => {
  it("creates the VM under a KMIP key, powers it on, and refuses power-on once the KMS is gone", async () => {
    srv();
    const c = new LabConnector({ folder: folder(), diskDataMiB: 2, keySources: keySources(folder()) });
    if ((await c.vmRuntime(vm.externalId)).powerState !== "poweredOff") await c.powerOff(vm.externalId);

    const on = await c.powerOn(vm.externalId);
    expect(on).toMatchObject({ powerState: "poweredOn", hasFiles: true, encrypted: true, keyProviderExternalId: vm.keyProviderExternalId });
    expect(on.keyId).not.toBe(vm.keyId);
    const attributes = await (async () => {
      const s = srv();
      const admin = new KmipClient({ host: s.host, port: s.port, ca: s.ca, cert: s.clientA.cert, key: s.clientA.key });
      try {
        return await admin.getAttributes(on.keyId!);
      } finally {
        await admin.close();
      }
    })();
    expect(attributes.state).toBe("Active"); // the VM's keyId is a live KMIP object
    expect((await c.inventory()).vms.find((v) => v.externalId === vm.externalId)).toMatchObject({ keyId: on.keyId, encrypted: true });
    expect((await c.guestWrites(vm.externalId, 1, 1)).changedBlocks).toBeGreaterThan(0);

    await c.powerOff(vm.externalId);
    kms!.forget(); // the host's KEK cache: a real host keeps KEKs for a while, the test does not wait
    await server!.stop();

    const refused = await rejection(c.powerOn(vm.externalId));
    expect(refused).toBeInstanceOf(HostError);
    expect((refused as HostError).code).toBe("KeyProviderUnavailable");
    expect((refused as Error & { cause?: unknown }).cause).toBeInstanceOf(KeyProviderError);
    expect((await c.vmRuntime(vm.externalId)).powerState).toBe("poweredOff");

    // A VM of the same KMS that has no files yet cannot get them: nothing is left behind.
    if ((await c.vmRuntime(sibling.externalId)).powerState !== "poweredOff") await c.powerOff(sibling.externalId);
    expect(((await rejection(c.powerOn(sibling.externalId))) as HostError).code).toBe("KeyProviderUnavailable");
    const datastores = path.join(folder(), "datastores");
    for (const ds of await readdir(datastores)) expect(await readdir(path.join(datastores, ds))).not.toContain(sibling.name);
    await c.close();
  });
});
