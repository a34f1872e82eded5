// VME-3 end to end with a real KMS: an encrypted lab VM whose KEK lives in PyKMIP opens only while
// the KMS answers. (PyKMIP missing is a failure naming `apt-get install -y python3-pykmip`.)

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { KmipClient } from "../../../kmip";
import { startPykmipServer, type PykmipServer } from "../../../kmip/testing/pykmip-server";
import { KmipKeyProvider } from "./kmip-key-provider";
import { LabDataPlane } from "./lab-data-plane";
import { useTempFolder } from "./testing/temp-folder";
import { HostError, KeyProviderError } from "./types";
import { fillDisk } from "./workload";

const MiB = 1024 * 1024;
let server: PykmipServer | undefined;
let startError: unknown;
const providers: KmipKeyProvider[] = [];
const folder = useTempFolder();

function provider(cacheTtlMs = 0): KmipKeyProvider {
  if (startError) throw startError;
  const s = server!;
  const client = new KmipClient({ host: s.host, port: s.port, ca: s.ca, cert: s.clientA.cert, key: s.clientA.key, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 });
  const kp = new KmipKeyProvider({ providerId: "kp-prod-acme", client, cacheTtlMs });
  providers.push(kp);
  return kp;
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

describe("an encrypted lab VM whose KEK is on a real KMS", () => {
  it("is created with a KMS key, reopens and unlocks while the KMS answers, and stays locked once it is gone", async () => {
    const lab = new LabDataPlane(folder());
    const vm = await lab.createVm({
      vmId: "vm-3001",
      name: "acme-db-01",
      homeDatastore: "ds-prod-vmfs-01",
      disks: [{ deviceKey: 2000, capacityBytes: 8 * MiB }],
      vtpm: true,
      encryption: { source: provider() },
    });
    expect(vm.encryptionInfo().keyId).toMatch(/^\d+$/); // a PyKMIP unique identifier
    await fillDisk(vm.disk(2000), undefined, "kms");
    const content = await vm.disk(2000).read(0, 8 * MiB);
    await lab.close();

    const reopened = new LabDataPlane(folder());
    const again = await reopened.vm("vm-3001");
    await again.unlock(provider());
    expect((await again.disk(2000).read(0, 8 * MiB)).equals(content)).toBe(true);
    await reopened.close();

    await server!.stop();
    const afterOutage = await new LabDataPlane(folder()).vm("vm-3001");
    const err = await afterOutage.unlock(provider()).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("KeyProviderUnavailable");
    expect(((err as HostError).cause as KeyProviderError).code).toBe("unreachable");
    expect(afterOutage.locked).toBe(true);
    await afterOutage.close();
  });
});
