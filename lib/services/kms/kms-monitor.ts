import "server-only";
import { env } from "@/lib/config/env";
import { checkAllKmsClusters } from "./check-kms-clusters";

// Checks every registered KMS cluster on a fixed interval inside the console's server process, so
// "unreachable since" is known before anyone opens a page or starts a job (VME-3).
let started = false;
let running = false;

export function startKmsMonitor(): void {
  if (started) return;
  started = true;
  const tick = async () => {
    if (running) return; // a slow KMS must not pile up rounds
    running = true;
    try {
      await checkAllKmsClusters();
    } catch (e) {
      console.error("[kms-monitor] check failed:", e instanceof Error ? e.message : e);
    } finally {
      running = false;
    }
  };
  setInterval(tick, env.STRONGROOM_KMS_CHECK_SECONDS * 1000).unref();
  void tick();
}
