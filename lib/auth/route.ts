import "server-only";
import { NextResponse } from "next/server";
import { env } from "@/lib/config/env";
import { isAppError } from "@/lib/errors/app-error";
import type { Actor } from "./actor";
import { crossOriginRefusal, SAFE_METHODS } from "./same-origin";
import { getActor } from "./session";

/**
 * Route handlers: a state-changing method from another origin (or with no Origin) → 403; then the
 * actor or 401, AppError → its status with a JSON message, anything else → 500.
 */
export function routeHandler<Ctx>(handle: (actor: Actor, req: Request, ctx: Ctx) => Promise<unknown>) {
  return async (req: Request, ctx: Ctx): Promise<Response> => {
    if (!SAFE_METHODS.has(req.method.toUpperCase())) {
      const refusal = crossOriginRefusal(req.headers, env.NEXTAUTH_URL);
      if (refusal) return NextResponse.json({ error: refusal }, { status: 403 });
    }
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
