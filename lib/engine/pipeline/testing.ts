// Shared fixtures for the pipeline's tests (tests only).

import type { PlatformProxy, PlatformVm } from "../../platform/connector";
import { LabConnector } from "../../platform/lab/lab-connector";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "../keys/user-key";
import { KeyRing } from "../keys/key-ring";
import { MemoryStore } from "../repository/memory-store";
import { createRepository } from "../repository/repository";
import type { CandidateProxy } from "./proxy-selection";

export function candidate(vm: PlatformVm, overrides: Partial<PlatformProxy> = {}): CandidateProxy {
  return {
    externalId: "proxy-test",
    name: "proxy-test",
    kind: "vm",
    siteExternalId: vm.siteExternalId,
    transportModes: ["hotadd", "nbd", "nbdssl"],
    maxTasks: 4,
    keyProviderExternalId: vm.keyProviderExternalId,
    tenantExternalId: null,
    privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
    activeTasks: 0,
    ...overrides,
  };
}

/** A lab on `folder` with small disks, a 1 MiB-block repository in memory and a weak password key. */
export async function labAndRepository(folder: string, diskDataMiB = 2) {
  const connector = new LabConnector({ folder, diskDataMiB });
  const repository = await createRepository(new MemoryStore());
  const password = await createPasswordKey("pipeline test password", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
  const keyRing = new KeyRing().addPasswordKey(password);
  const inventoryVm = async (id: string) => (await connector.inventory()).vms.find((v) => v.externalId === id)!;
  return { connector, repository, password, keyRing, protection: { password }, inventoryVm };
}
