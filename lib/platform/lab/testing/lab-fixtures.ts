// Fixtures for the lab connector's tests: key sources whose KMSs can be switched off, a small
// proxy factory, and the default estate's VMs picked by what a test needs (not by name, so a
// change to the catalogue does not silently change what a test covers).

import type { PlatformProxy, PlatformVm } from "../../connector";
import type { KeyEncryptionKeySource } from "../data-plane";
import { MemoryKeySource } from "../data-plane/testing/memory-key-source";
import { generateEstate } from "../estate";
import { nativeOnlyKeySources, type LabKeySources } from "../lab-key-sources";
import type { PolicyProxy } from "../transport";

/** Native providers on disk; every standard provider an in-memory KMS that a test can make unreachable. */
export class SwitchableKeySources implements LabKeySources {
  readonly kms = new Map<string, MemoryKeySource>();
  calls = 0;
  private readonly native: LabKeySources;

  constructor(folder: string) {
    this.native = nativeOnlyKeySources(folder);
  }

  async forProvider(p: Parameters<LabKeySources["forProvider"]>[0]): Promise<KeyEncryptionKeySource> {
    this.calls++;
    if (p.kind === "native") return this.native.forProvider(p);
    return this.kmsOf(p.keyProviderExternalId);
  }

  kmsOf(keyProviderExternalId: string): MemoryKeySource {
    let kms = this.kms.get(keyProviderExternalId);
    if (!kms) this.kms.set(keyProviderExternalId, (kms = new MemoryKeySource(keyProviderExternalId)));
    return kms;
  }
}

const estate = generateEstate();

/** The first VM of the default estate that matches. */
export function pickVm(what: string, match: (vm: PlatformVm) => boolean): PlatformVm {
  const vm = estate.vms.find(match);
  if (!vm) throw new Error(`the default estate has no ${what}`);
  return vm;
}

export const isNative = (vm: PlatformVm) => vm.keyProviderExternalId?.endsWith("-native") ?? false;

export function proxyFor(overrides: Partial<PlatformProxy> = {}): PolicyProxy {
  return {
    name: "test-proxy",
    kind: "vm",
    transportModes: ["san", "hotadd", "nbd", "nbdssl"],
    keyProviderExternalId: null,
    privileges: ["Cryptographer.Access", "Cryptographer.AddDisk"],
    ...overrides,
  };
}

export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}
