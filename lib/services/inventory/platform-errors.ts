import "server-only";
import { AppError, type AppErrorCode } from "@/lib/errors/app-error";

// The platform answers runtime operations with vSphere's error names (HostError in the lab's
// data plane). The console turns them into typed application errors with advice.
const MAP: Record<string, { code: AppErrorCode; advice: string }> = {
  NotFound: { code: "NOT_FOUND", advice: "Sync the inventory; the object may have been removed." },
  InvalidArgument: { code: "INVALID_INPUT", advice: "Check the values and try again." },
  InvalidState: { code: "CONFLICT", advice: "Change the VM's state first (for example, power it off)." },
  KeyProviderUnavailable: { code: "UNAVAILABLE", advice: "Check the KMS cluster under Key providers; the operation works again once it answers." },
  NoPermission: { code: "FORBIDDEN", advice: "Grant the Cryptographer privileges to the proxy's account." },
  CryptoKeyMismatch: { code: "CONFLICT", advice: "Use a proxy encrypted with the VM's key provider, or network mode." },
  TransportNotSupported: { code: "CONFLICT", advice: "Choose another transport mode." },
  FileFault: { code: "CONFLICT", advice: "Run a full read; the change id is no longer known." },
};

export function toAppError(e: unknown): unknown {
  if (e instanceof Error && e.name === "HostError") {
    const code = (e as Error & { code?: string }).code ?? "";
    const m = MAP[code] ?? { code: "CONFLICT" as const, advice: "" };
    const text = e.message.charAt(0).toUpperCase() + e.message.slice(1);
    // The platform's own message may already say what to do; then the generic advice is noise.
    const advice = /Key providers|power it|Sync/i.test(text) ? "" : m.advice;
    return new AppError(m.code, `${text}${text.endsWith(".") ? "" : "."} ${advice}`.trim());
  }
  return e;
}

/** Runs a platform operation and rethrows its HostError as an AppError. */
export async function platformCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw toAppError(e);
  }
}
