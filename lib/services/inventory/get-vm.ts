import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { idSchema } from "@/lib/schemas/inventory";
import { bytes } from "./inventory-dto";

export interface VmDetailDto {
  id: string;
  externalId: string;
  name: string;
  site: { id: string; name: string; role: string; keyProviders: { id: string; name: string }[] };
  host: { name: string; cluster: string };
  tenant: { id: string; name: string } | null;
  folder: string;
  guestOs: string;
  powerState: string;
  cpuCount: number;
  memoryMiB: number;
  home: { datastoreName: string; storagePolicyName: string; storagePolicyEncryption: boolean };
  encrypted: boolean;
  keyProvider: { id: string; name: string; kind: string; kmsClusterId: string | null } | null;
  keyId: string | null;
  hasEncryptionBundle: boolean;
  vtpm: boolean;
  guestOsEncrypted: boolean;
  disks: {
    id: string;
    label: string;
    capacityBytes: number;
    datastoreName: string;
    datastoreEncryptionCompatible: boolean;
    storagePolicyName: string;
    storagePolicyEncryption: boolean;
    fileName: string;
    encrypted: boolean;
    keyId: string | null;
  }[];
}

export async function getVm(actor: Actor, rawId: unknown): Promise<VmDetailDto> {
  authorize(actor, "inventory:read");
  const id = parseInput(idSchema, rawId);
  const vm = await db.vm.findUnique({
    where: { id },
    include: {
      site: { include: { keyProviders: { orderBy: { name: "asc" }, select: { id: true, name: true } } } },
      host: true,
      tenant: true,
      keyProvider: true,
      homeDatastore: true,
      homeStoragePolicy: true,
      disks: { orderBy: { deviceKey: "asc" }, include: { datastore: true, storagePolicy: true } },
    },
  });
  if (!vm) throw new AppError("NOT_FOUND", "No VM with this id. It may have been removed from the platform.");
  return {
    id: vm.id,
    externalId: vm.externalId,
    name: vm.name,
    site: { id: vm.site.id, name: vm.site.name, role: vm.site.role, keyProviders: vm.site.keyProviders },
    host: { name: vm.host.name, cluster: vm.host.cluster },
    tenant: vm.tenant ? { id: vm.tenant.id, name: vm.tenant.name } : null,
    folder: vm.folder,
    guestOs: vm.guestOs,
    powerState: vm.powerState,
    cpuCount: vm.cpuCount,
    memoryMiB: vm.memoryMiB,
    home: {
      datastoreName: vm.homeDatastore.name,
      storagePolicyName: vm.homeStoragePolicy.name,
      storagePolicyEncryption: vm.homeStoragePolicy.encryption,
    },
    encrypted: vm.encrypted,
    keyProvider: vm.keyProvider ? { id: vm.keyProvider.id, name: vm.keyProvider.name, kind: vm.keyProvider.kind, kmsClusterId: vm.keyProvider.kmsClusterId } : null,
    keyId: vm.keyId,
    hasEncryptionBundle: vm.hasEncryptionBundle,
    vtpm: vm.vtpm,
    guestOsEncrypted: vm.guestOsEncrypted,
    disks: vm.disks.map((d) => ({
      id: d.id,
      label: d.label,
      capacityBytes: bytes(d.capacityBytes),
      datastoreName: d.datastore.name,
      datastoreEncryptionCompatible: d.datastore.encryptionCompatible,
      storagePolicyName: d.storagePolicy.name,
      storagePolicyEncryption: d.storagePolicy.encryption,
      fileName: d.fileName,
      encrypted: d.encrypted,
      keyId: d.keyId,
    })),
  };
}
