import "server-only";
import http from "node:http";
import { env } from "@/lib/config/env";
import { proxyList, resolveClient } from "./trusted-proxies";

// Installed once at server start (instrumentation.ts), before Next.js sees a request. Next.js keeps
// a client's own X-Forwarded-* headers (it only fills them in when absent), so this rewrites them
// from the socket: X-Forwarded-For becomes the one resolved client address, X-Forwarded-Proto the
// resolved protocol, and X-Forwarded-Host/-Port and X-Real-IP are dropped unless a trusted proxy
// sent them. Everything downstream (lib/auth/source-ip.ts, the Origin check, next-auth) then reads
// headers nobody outside can forge.
const INSTALLED = Symbol.for("strongroom.forwarded-headers-guard");

export function installForwardedHeadersGuard(trusted: readonly string[] = env.STRONGROOM_TRUSTED_PROXIES): void {
  const proto = http.Server.prototype as unknown as Record<symbol, unknown> & { emit: (event: string, ...args: unknown[]) => boolean };
  if (proto[INSTALLED]) return;
  proto[INSTALLED] = true;
  const list = proxyList(trusted);
  const emit = proto.emit;
  proto.emit = function (this: http.Server, event: string, ...args: unknown[]) {
    if (event === "request") rewriteForwardedHeaders(args[0] as http.IncomingMessage, list);
    return emit.call(this, event, ...args);
  };
}

export function rewriteForwardedHeaders(req: http.IncomingMessage, list: ReturnType<typeof proxyList>): void {
  const h = req.headers;
  const client = resolveClient(list, {
    socketAddress: req.socket?.remoteAddress,
    socketEncrypted: Boolean((req.socket as { encrypted?: boolean } | undefined)?.encrypted),
    forwardedFor: h["x-forwarded-for"],
    forwardedProto: h["x-forwarded-proto"],
  });
  delete h["x-real-ip"];
  if (!client.viaTrustedProxy) {
    delete h["x-forwarded-host"];
    delete h["x-forwarded-port"];
  }
  if (client.ip) h["x-forwarded-for"] = client.ip;
  else delete h["x-forwarded-for"];
  h["x-forwarded-proto"] = client.protocol;
}
