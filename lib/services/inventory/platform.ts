import "server-only";
import { env } from "@/lib/config/env";
import type { PlatformConnector } from "@/lib/platform/connector";
import { LabConnector } from "@/lib/platform/lab/lab-connector";

// The one place that chooses the platform connector. Only the lab exists today; a real vCenter
// connector would be picked here from configuration, and nothing above would change.
let connector: PlatformConnector | undefined;

export function platform(): PlatformConnector {
  connector ??= new LabConnector({ vmCount: env.STRONGROOM_LAB_VMS, seed: env.STRONGROOM_LAB_SEED });
  return connector;
}
