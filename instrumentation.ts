// Next.js calls register() once when the server starts: background work of the console lives here.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    // First: forwarded headers are believed only from trusted proxies (lib/auth/forwarded-headers-guard.ts).
    const { installForwardedHeadersGuard } = await import("./lib/auth/forwarded-headers-guard");
    installForwardedHeadersGuard();
    const { startKmsMonitor } = await import("./lib/services/kms/kms-monitor");
    startKmsMonitor();
    const { startConsoleJobEngine } = await import("./lib/services/start-job-engine");
    await startConsoleJobEngine();
  }
}
