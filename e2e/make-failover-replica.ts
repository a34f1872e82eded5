// Run by failover.spec.ts as a child (tsx --conditions=react-server) against the e2e console's
// database and lab, like make-replica.ts: a replication job of one production VM that no other spec
// names (re-keyed by the DR site's native key provider, adapters left disconnected) is
// created and run through the services as the administrator; the console's job engine runs it.
// Prints {"sessionId": …, "vm": …, "replica": …}.
import fs from "node:fs";
import path from "node:path";
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
  // The VMs other specs name (and the one make-replica.ts picks, the first candidate) are left alone.
  const dir = path.join(process.cwd(), "e2e");
  const others = fs.readdirSync(dir).filter((f) => f !== "failover.spec.ts" && f.endsWith(".ts")).map((f) => fs.readFileSync(path.join(dir, f), "utf8")).join("\n");
  const named = (name: string) => new RegExp(`(^|[^\\w-])${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([^\\w-]|$)`).test(others);
  const encrypted = inv.vms.filter((v) => v.siteExternalId === prod && v.encrypted && v.keyProviderExternalId === native(prod).externalId && !v.vtpm).slice(1);
  // An unencrypted source is re-keyed whole at the DR site: the replica is encrypted all the same.
  const plainVms = inv.vms.filter((v) => v.siteExternalId === prod && !v.encrypted && !v.vtpm);
  const vm = [...encrypted, ...plainVms].find((v) => !named(v.name));
  if (!vm) throw new Error("no production VM is left that no other spec uses");
  const encPolicy = inv.storagePolicies.find((p) => p.siteExternalId === site && p.encryption)!.externalId;
  const ds = inv.datastores.filter((d) => d.siteExternalId === site && d.compatiblePolicyExternalIds.includes(encPolicy)).sort((a, b) => b.freeBytes - a.freeBytes)[0];
  const plain = ds.compatiblePolicyExternalIds.find((id) => !inv.storagePolicies.find((p) => p.externalId === id)!.encryption)!;
  const host = inv.hosts.find((h) => h.siteExternalId === site && h.connectionState === "connected")!.externalId;
  const enc = { datastoreExternalId: ds.externalId, storagePolicyExternalId: encPolicy };
  const { id: jobId } = await createReplicationJob(actor, {
    name: `e2e-failover-${Date.now().toString(36)}`,
    vms: [
      {
        vmExternalId: vm.externalId,
        name: `${vm.name}_replica`,
        folder: "/Replicas",
        home: enc,
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
  process.stdout.write(JSON.stringify({ sessionId, vm: vm.name, replica: `${vm.name}_replica` }) + "\n");
  await db.$disconnect();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
