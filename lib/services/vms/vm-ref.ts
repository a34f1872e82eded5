import "server-only";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";

/** The platform's identity of a VM known to the console. */
export async function vmRef(vmId: string) {
  const vm = await db.vm.findUnique({ where: { id: vmId }, select: { id: true, name: true, externalId: true, siteId: true, site: { select: { externalId: true } } } });
  if (!vm) throw new AppError("NOT_FOUND", "No VM with this id. It may have been removed from the platform at the last sync.");
  return vm;
}
