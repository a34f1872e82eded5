import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import type { PlatformDescription } from "@/lib/platform/connector";
import { platform } from "./platform";

/** Which platform the console talks to; the UI labels the lab as a simulated vSphere. */
export async function getPlatformInfo(actor: Actor): Promise<PlatformDescription> {
  authorize(actor, "inventory:read");
  return platform().describe();
}
