import { NextResponse } from "next/server";

// Liveness probe, public and trivial: the benchmark's baseline for the app's own overhead.
export const dynamic = "force-dynamic";
export function GET() {
  return NextResponse.json({ ok: true });
}
