// Run by replicas.spec.ts as a child (tsx --conditions=react-server) against the e2e console's
// database and lab: there is no replication wizard yet, so a replication job is created and run
// through the services as the administrator; the console's own job engine then runs its
// replicate-vm job. Prints {"sessionId": …}.
import { db } from "@/lib/db/client";
import { actorFor } from "@/lib/testing/factories";
import { platform } from "@/lib/services/inventory/platform";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { createReplicationJob } from "@/lib/services/replication/create-replication-job";
import { runReplicationJobNow } from "@/lib/services/replication/run-replication-job";

async function main() {
  await syncInventoryFromPlatform();
  const user = await db.user.findFirstOrThrow({ where: { email: process.env.E2E_ADMIN_EMAIL ?? "admin@e2e.strongroom.test" } });
  const actor = actorFor(user);
  const inv = await platform().inventory();
  const site = inv.sites.find((s) => s.role === "dr")!.externalId;
  const prod = inv.sites.find((s) => s.role !== "dr")!.externalId;
  const native = (siteId: string) => inv.keyProviders.find((k) => k.siteExternalId === siteId && k.kind === "native")!;
  const vm =
    inv.vms.find((v) => v.siteExternalId === prod && v.encrypted && v.keyProviderExternalId === native(prod).externalId && !v.vtpm) ??
    inv.vms.find((v) => v.siteExternalId === prod && !v.vtpm)!;
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const ds = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plain = ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const enc = { datastoreExternalId: ds.externalId, storagePolicyExternalId: encPolicy };
  const { id: jobId } = await createReplicationJob(actor, {
    name: `e2e-replication-${Date.now().toString(36)}`,
    vms: [
      {
        vmExternalId: vm.externalId,
        name: `${vm.name}_replica`,
        folder: "/Replicas",
        home: enc,
        // re-key encrypts an unencrypted source whole; an encrypted source's unencrypted disks stay so
        disks: vm.disks.map((d) => ({ deviceKey: d.deviceKey, ...(d.encrypted || !vm.encrypted ? enc : { datastoreExternalId: ds.externalId, storagePolicyExternalId: plain }) })),
        networks: (vm.nics ?? []).map((n) => ({ nicDeviceKey: n.deviceKey, networkExternalId: null })),
      },
    ],
    targetSiteExternalId: site,
    targetHostExternalId: host,
    keyMode: "re-key",
    targetKeyProviderExternalId: native(site).externalId,
    keepPoints: 3,
    schedule: { kind: "manual" },
  });
  const { sessionId } = await runReplicationJobNow(actor, { jobId });
  process.stdout.write(JSON.stringify({ sessionId, vm: vm.name }) + "\n");
  await db.$disconnect();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
