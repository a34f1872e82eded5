// Runs before every request (Next.js 16's proxy, formerly middleware): refuses oversized bodies with
// 413 (lib/http/body-limit.ts) and gives every response its security headers with a per-request CSP
// nonce (lib/http/security-headers.ts). Next.js reads the nonce from the request's CSP header and
// puts it on the scripts it renders; app/layout.tsx reads it too, so every page renders per request.
import { NextResponse, type NextRequest } from "next/server";
import { declaresTooLarge, REQUEST_BODY_LIMIT, tooLargeMessage } from "@/lib/http/body-limit";
import { contentSecurityPolicy, newNonce, STATIC_SECURITY_HEADERS } from "@/lib/http/security-headers";

export function proxy(request: NextRequest) {
  const nonce = newNonce();
  const csp = contentSecurityPolicy(nonce, { dev: process.env.NODE_ENV === "development" });
  let response: NextResponse;
  if (declaresTooLarge(request.headers, REQUEST_BODY_LIMIT)) {
    // Routes answer JSON like their handlers; anything else text/plain, which a server action's
    // client shows as the error instead of "An unexpected response was received from the server".
    const message = tooLargeMessage(REQUEST_BODY_LIMIT);
    response = request.nextUrl.pathname.startsWith("/api/")
      ? NextResponse.json({ error: message }, { status: 413 })
      : new NextResponse(message, { status: 413, headers: { "Content-Type": "text/plain" } });
  } else {
    const requestHeaders = new Headers(request.headers);
    requestHeaders.set("x-nonce", nonce);
    requestHeaders.set("Content-Security-Policy", csp);
    response = NextResponse.next({ request: { headers: requestHeaders } });
  }
  response.headers.set("Content-Security-Policy", csp);
  for (const [name, value] of Object.entries(STATIC_SECURITY_HEADERS)) response.headers.set(name, value);
  return response;
}

export const config = {
  // Everything but Next's immutable build assets (they carry no page and no body).
  matcher: ["/((?!_next/static|_next/image).*)"],
};
