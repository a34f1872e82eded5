// One rule for every free-text name a person reads back — users, jobs, repositories, KMS clusters,
// password hints, descriptions — and so for every approval diff that shows them (SEC-2): no
// character that is invisible or changes how the rest is drawn. NUL and other control characters
// (C0, DEL, C1, line breaks, tabs), format characters (right-to-left and left-to-right overrides,
// embeddings and isolates, zero-width space/joiners, byte-order mark, soft hyphen) and the Unicode
// line/paragraph separators can make "acme-web" and "acme-web" + U+200B two different names that
// look the same, or reverse the end of a line so a diff shows what it does not say.
import { z } from "zod";
import "./zod-setup";

const HIDDEN = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/** The first hidden or control character of `value`, as "U+XXXX", or null. */
export function firstHiddenCharacter(value: string): string | null {
  const m = HIDDEN.exec(value);
  return m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` : null;
}

export const HIDDEN_CHARACTER_MESSAGE =
  "Remove the invisible or control character (such as a line break, a zero-width space or a right-to-left mark): it can make this text look like something else";

/** Adds the rule to a string schema, keeping its type (use it on every name field). */
export function plainText<S extends z.ZodString>(schema: S): S {
  return schema.superRefine((value, ctx) => {
    const c = firstHiddenCharacter(value);
    if (c) ctx.addIssue({ code: "custom", message: `${HIDDEN_CHARACTER_MESSAGE} (${c}).` });
  }) as S;
}

/** A required one-line name: trimmed, 1–max characters, plain text. */
export const plainName = (what: string, max = 100) =>
  plainText(z.string().trim().min(1, `Name the ${what}`).max(max, `Use at most ${max} characters`));
