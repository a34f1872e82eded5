import { routeHandler } from "@/lib/auth/route";
import { getVmRuntime } from "@/lib/services/vms/get-vm-runtime";

export const dynamic = "force-dynamic";

/** Live power state, files, written bytes and CBT change ids of one VM (polled by the VM page). */
export const GET = routeHandler(async (actor, _req, ctx: { params: Promise<{ id: string }> }) => getVmRuntime(actor, (await ctx.params).id));
