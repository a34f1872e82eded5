import { routeHandler } from "@/lib/auth/route";
import { listHostVms } from "@/lib/services/inventory/get-inventory-tree";

export const dynamic = "force-dynamic";

/** The VMs of one host, loaded when the host is opened in the inventory tree. */
export const GET = routeHandler(async (actor, _req, ctx: { params: Promise<{ id: string }> }) => listHostVms(actor, (await ctx.params).id));
