"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { validatedAction } from "@/lib/auth/safe-action";
import { syncInventory } from "@/lib/services/inventory/sync-inventory";

export const syncInventoryAction = validatedAction("inventory.sync", z.object({}).strict(), async (actor) => {
  const s = await syncInventory(actor);
  revalidatePath("/", "layout");
  return `Synced ${s.vms} VMs on ${s.sites} sites in ${(s.durationMs / 1000).toFixed(1)} s: ${s.created} created, ${s.updated} updated, ${s.deleted} removed.`;
});
