// `npm run lab -- <command>`: drive the lab (simulated vSphere) from a shell, through the same
// services as the console (audited as the lab CLI). Uses STRONGROOM_DATA_DIR / DATABASE_URL like `npm start`.
//   status <vm name>                 power state, disk files, written bytes, CBT change ids
//   guest-writes <vm name> [percent] the guest rewrites that share of its blocks (default 5)
//   power-on <vm name> | power-off <vm name>
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { isAppError } from "@/lib/errors/app-error";
import { formatBytes } from "@/lib/format";
import { getVmRuntime } from "@/lib/services/vms/get-vm-runtime";
import { powerVm } from "@/lib/services/vms/power-vm";
import { runGuestWrites } from "@/lib/services/vms/run-guest-writes";

const USAGE = "usage: npm run lab -- status|guest-writes|power-on|power-off <vm name> [percent]";
// The CLI acts with an administrator's permissions; the audit log names it.
const cli: Actor = { id: "lab-cli", email: "lab-cli@localhost", name: "Lab CLI", role: "BACKUP_ADMIN", sourceIp: "127.0.0.1" };

async function main() {
  const [command, name, percent] = process.argv.slice(2);
  if (!command || !name) throw new Error(USAGE);
  const vm = await db.vm.findFirst({ where: { name }, select: { id: true, name: true } });
  if (!vm) throw new Error(`No VM named "${name}". Names are shown on the Virtual machines page.`);
  if (command === "guest-writes") {
    const r = await runGuestWrites(cli, { vmId: vm.id, percent: percent ?? "5" });
    console.log(`${vm.name}: rewrote ${r.changedBlocks} block(s), ${formatBytes(r.bytesWritten)} in ${r.durationMs} ms.`);
  } else if (command === "power-on" || command === "power-off") {
    const r = await powerVm(cli, { vmId: vm.id, action: command === "power-on" ? "on" : "off" });
    console.log(`${vm.name}: ${r.powerState}`);
  } else if (command !== "status") {
    throw new Error(USAGE);
  }
  const r = await getVmRuntime(cli, vm.id);
  console.log(`${vm.name}: ${r.powerState}, ${r.encrypted ? `encrypted (${r.keyProviderExternalId}, key ${r.keyId})` : "not encrypted"}, files ${r.hasFiles ? "present" : "not created yet"}`);
  for (const d of r.disks) console.log(`  disk ${d.deviceKey}: ${formatBytes(d.allocatedBytes)} written of ${formatBytes(d.capacityBytes)}, change id ${d.changeId ?? "—"}`);
}

main()
  .catch((e) => {
    console.error(isAppError(e) || e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  })
  .finally(() => db.$disconnect());
