import { NextResponse } from "next/server";
import { getActor } from "@/lib/auth/session";
import { isAppError } from "@/lib/errors/app-error";
import { exportRestorePointDisk } from "@/lib/services/restore/export-disk";

export const dynamic = "force-dynamic";

/**
 * GET /api/restore-points/<point>/disks/<device key> → the disk as a raw image (RST-7), streamed.
 * Errors before the first byte are JSON with a status; an error while streaming (a damaged block)
 * aborts the download, so a cut-short image is never mistaken for a complete one.
 */
export async function GET(req: Request, ctx: { params: Promise<{ id: string; deviceKey: string }> }): Promise<Response> {
  const actor = await getActor();
  if (!actor) return NextResponse.json({ error: "Sign in to continue." }, { status: 401 });
  const { id, deviceKey } = await ctx.params;
  try {
    const file = await exportRestorePointDisk(actor, { pointId: id, deviceKey }, req.signal);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await file.chunks.next();
          if (next.done) {
            await file.close();
            controller.close();
          } else controller.enqueue(new Uint8Array(next.value)); // a copy: the chunk's buffer is reused
        } catch (e) {
          console.error("[route disk export] failed while streaming", e instanceof Error ? e.message : e);
          await file.close().catch(() => undefined);
          controller.error(new Error("The export failed part-way."));
        }
      },
      async cancel() {
        await file.chunks.return(undefined);
        await file.close();
      },
    });
    return new Response(body, {
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(file.size),
        "Content-Disposition": `attachment; filename="${file.fileName}"`,
        "Cache-Control": "no-store",
      },
    });
  } catch (e) {
    if (isAppError(e)) return NextResponse.json({ error: e.message }, { status: e.status });
    console.error("[route disk export] unexpected error", e instanceof Error ? e.message : e);
    return NextResponse.json({ error: "Something went wrong on the server. Try again." }, { status: 500 });
  }
}
