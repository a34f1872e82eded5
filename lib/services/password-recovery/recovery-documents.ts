import "server-only";
import { z } from "zod";
import type { RecoveryRequest, RecoveryResponse } from "@/lib/engine";

// The two documents of a password-loss recovery (KEY-6) as the console exchanges them: a bundle of
// the engine's per-point requests, and a bundle of its responses. Neither carries a usable secret:
// the request holds keyset wraps and X25519 public keys; the response holds storage keys sealed
// for that request's private halves, which never leave this console.

const requestSchema = z.object({
  format: z.literal("strongroom-recovery-request"),
  version: z.literal(1),
  requestId: z.string().regex(/^[0-9a-f]{32}$/),
  keysetId: z.string().regex(/^[0-9a-f]+$/).max(128),
  storageKeyId: z.string().regex(/^[0-9a-f]{32}$/),
  context: z.string().regex(/^[0-9a-f]+$/).max(256),
  wrap: z.string().max(8192),
  requesterPublicKey: z.string().max(512),
});
const responseSchema = z.object({
  format: z.literal("strongroom-recovery-response"),
  version: z.literal(1),
  requestId: z.string().regex(/^[0-9a-f]{32}$/),
  storageKeyId: z.string().regex(/^[0-9a-f]{32}$/),
  responderPublicKey: z.string().max(512),
  sealed: z.string().max(512),
});

export const requestBundleSchema = z.object({
  format: z.literal("strongroom-recovery-request-bundle"),
  version: z.literal(1),
  id: z.string().min(1).max(64),
  createdAt: z.string(),
  points: z.array(z.object({ pointId: z.string().regex(/^[0-9a-f]{32}$/), vmName: z.string().max(200), createdAt: z.string(), request: requestSchema })).min(1).max(500),
});
export const responseBundleSchema = z.object({
  format: z.literal("strongroom-recovery-response-bundle"),
  version: z.literal(1),
  id: z.string().min(1).max(64),
  responses: z.array(z.object({ pointId: z.string().regex(/^[0-9a-f]{32}$/), response: responseSchema })).min(1).max(500),
});
export type RequestBundle = z.infer<typeof requestBundleSchema>;
export type ResponseBundle = z.infer<typeof responseBundleSchema>;

/** Parses a pasted document; a clear message says which document was expected. */
export function parseDocument<S extends z.ZodType>(schema: S, text: string, what: string): z.infer<S> | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: `This is not a ${what} (not JSON). Paste the whole text block or load the file.` };
  }
  const r = schema.safeParse(json);
  if (!r.success) return { error: `This is not a valid ${what}: ${r.error.issues[0]?.path.join(".") || "document"} — ${r.error.issues[0]?.message}.` };
  return r.data;
}

export type EngineRequest = RecoveryRequest;
export type EngineResponse = RecoveryResponse;
