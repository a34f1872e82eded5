import { NextResponse } from "next/server";
import { getActor } from "@/lib/auth/session";
import { AppError, isAppError } from "@/lib/errors/app-error";
import { AUDIT_FILTER_KEYS } from "@/lib/schemas/audit";
import { exportAuditEvents } from "@/lib/services/audit/export-audit-events";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";

export const dynamic = "force-dynamic";

/**
 * GET /api/audit/export?<the audit page's filters> → text/csv attachment (SEC-4). Errors before
 * the first byte are JSON with a status (like every route); an error while streaming aborts the
 * download, so a cut-short file is never mistaken for a complete one.
 */
export async function GET(req: Request): Promise<Response> {
  const actor = await getActor();
  if (!actor) return NextResponse.json({ error: "Sign in to continue." }, { status: 401 });
  const url = new URL(req.url);
  try {
    if (url.search.length > 2048) throw new AppError("INVALID_INPUT", "The query string is too long.");
    const filters = Object.fromEntries(AUDIT_FILTER_KEYS.flatMap((k) => (url.searchParams.has(k) ? [[k, url.searchParams.get(k)!]] : [])));
    const file = await exportAuditEvents(actor, filters);
    const chunks = file.chunks();
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (e) {
          console.error("[route /api/audit/export] failed while streaming", e instanceof Error ? e.message : e);
          controller.error(new Error("The export failed part-way."));
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/csv; charset=utf-8; header=present",
        "content-disposition": `attachment; filename="${file.filename}"`,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "x-audit-rows": String(file.rowCount),
      },
    });
  } catch (e) {
    if (isAppError(e)) {
      // A refused export is itself a security-relevant event (SEC-4).
      if (e.code === "FORBIDDEN") await recordAuditEvent({ actor, action: "audit.export", outcome: "denied", details: { reason: e.message } });
      return NextResponse.json({ error: e.message, fieldErrors: e.fieldErrors }, { status: e.status });
    }
    console.error("[route /api/audit/export] unexpected error", e instanceof Error ? e.message : e);
    return NextResponse.json({ error: "Something went wrong on the server. Try again." }, { status: 500 });
  }
}
