import type { z } from "zod";
import { AppError } from "./app-error";

/** Services validate again (they are reachable without the form): invalid input → INVALID_INPUT with field errors. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fieldErrors: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) (fieldErrors[issue.path.join(".") || "_"] ??= []).push(issue.message);
  const first = parsed.error.issues[0];
  throw new AppError("INVALID_INPUT", `Invalid input: ${first?.path.join(".") || "value"} — ${first?.message}.`, fieldErrors);
}
