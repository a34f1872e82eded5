import "server-only";
import { NextResponse } from "next/server";
import { env } from "@/lib/config/env";
import { isAppError } from "@/lib/errors/app-error";
import { boundedRequest, ROUTE_BODY_LIMIT, tooLargeMessage } from "@/lib/http/body-limit";
import type { Actor } from "./actor";
import { crossOriginRefusal, SAFE_METHODS } from "./same-origin";
import { getActor } from "./session";

/**
 * Route handlers: a state-changing method from another origin (or with no Origin) → 403; a body
 * over the limit → 413; then the actor or 401, AppError → its status with a JSON message, anything
 * else → 500.
 */
export function routeHandler<Ctx>(handle: (actor: Actor, req: Request, ctx: Ctx) => Promise<unknown>) {
  return async (received: Request, ctx: Ctx): Promise<Response> => {
    if (!SAFE_METHODS.has(received.method.toUpperCase())) {
      const refusal = crossOriginRefusal(received.headers, env.NEXTAUTH_URL);
      if (refusal) return NextResponse.json({ error: refusal }, { status: 403 });
    }
    // A body over the limit is refused with 413 before it is read (lib/http/body-limit.ts).
    const req = await boundedRequest(received, ROUTE_BODY_LIMIT);
    if (!req) return NextResponse.json({ error: tooLargeMessage(ROUTE_BODY_LIMIT) }, { status: 413 });
    const actor = await getActor();
    if (!actor) return NextResponse.json({ error: "Sign in to continue." }, { status: 401 });
    try {
      return NextResponse.json(await handle(actor, req, ctx));
    } catch (e) {
      if (isAppError(e)) return NextResponse.json({ error: e.message, fieldErrors: e.fieldErrors }, { status: e.status });
      console.error(`[route ${new URL(req.url).pathname}] unexpected error`, e instanceof Error ? e.message : e);
      return NextResponse.json({ error: "Something went wrong on the server. Try again." }, { status: 500 });
    }
  };
}
