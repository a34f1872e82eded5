// Request body limits, answered with 413 and a sentence a person can act on instead of a 500.
//  - Every request (proxy.ts): a declared Content-Length over REQUEST_BODY_LIMIT is refused before
//    Next.js reads it. Server actions accept up to the same size (next.config.ts bodySizeLimit), and
//    their wrapper (lib/auth/safe-action.ts) turns anything over its own 64 KiB into a form error.
//  - Route handlers (lib/auth/route.ts): ROUTE_BODY_LIMIT, also when no Content-Length is sent
//    (chunked): the body is read up to the limit and handed on as a fresh Request.

export const REQUEST_BODY_LIMIT = 1024 * 1024;
/** Keep in step with REQUEST_BODY_LIMIT (Next's config takes a size string). */
export const SERVER_ACTION_BODY_LIMIT = "1mb";
export const ROUTE_BODY_LIMIT = 64 * 1024;

export function tooLargeMessage(limit: number): string {
  return `The request is too large: at most ${formatBytes(limit)} is accepted. Shorten the values (or select fewer items) and try again.`;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MB` : `${n / 1024} KB`;
}

/** True when the request declares a body larger than `limit`. */
export function declaresTooLarge(headers: Headers, limit: number): boolean {
  const declared = headers.get("content-length");
  return declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit;
}

/**
 * The request with its body bounded by `limit`: `null` when it is over, otherwise a request the
 * handler can read as usual. Bodies without a Content-Length are read up to the limit and no further.
 */
export async function boundedRequest(req: Request, limit: number): Promise<Request | null> {
  if (declaresTooLarge(req.headers, limit)) return null;
  if (!req.body || req.headers.has("content-length")) return req;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return new Request(req.url, { method: req.method, headers: req.headers, body: Buffer.concat(chunks) });
}
