// First-run preparation, shared by `npm start` and the test runs (run with --conditions=react-server
// so the server-only modules load): migrate is done by the caller; this creates the first
// administrator and seeds the lab inventory when the database is new.
import { env } from "@/lib/config/env";
import { db } from "@/lib/db/client";
import { bootstrapAdmin } from "@/lib/services/auth/bootstrap-admin";
import { syncInventoryFromPlatform } from "@/lib/services/inventory/sync-inventory";
import { ensureDefaultRepository } from "@/lib/services/backup/default-repository";

async function main() {
  const admin = await bootstrapAdmin(env.STRONGROOM_ADMIN_EMAIL, env.STRONGROOM_ADMIN_PASSWORD);
  if (admin) {
    const line = "─".repeat(64);
    console.log(`\n${line}\n  First start: created the administrator ${admin.email}`);
    if (admin.generatedPassword) {
      console.log(`  Password (shown once, not stored anywhere): ${admin.generatedPassword}`);
      console.log("  Sign in and create your own users under Users.");
    } else {
      console.log("  Password: the one given in STRONGROOM_ADMIN_PASSWORD.");
    }
    console.log(`${line}\n`);
  }
  if ((await db.site.count()) === 0) {
    console.log(`Seeding the lab (simulated vSphere) with ${env.STRONGROOM_LAB_VMS} VMs…`);
    const s = await syncInventoryFromPlatform();
    console.log(`Lab inventory synced: ${s.sites} sites, ${s.vms} VMs in ${s.durationMs} ms.`);
  }
  const repo = await ensureDefaultRepository();
  if (repo.created) console.log(`Created the default backup repository in ${repo.path}.`);
  await db.$disconnect();
}

main().catch((e) => {
  // Prisma errors embed the whole query; the last line says what was wrong.
  const message = e instanceof Error ? e.message.trim().split("\n").pop() : String(e);
  console.error(`Preparing the database failed: ${message}`);
  process.exit(1);
});
