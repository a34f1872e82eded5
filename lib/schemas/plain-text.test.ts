import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { createRepositorySchema, jobBasicsSchema, jobEncryptionSchema } from "./backup";
import { registerKmsClusterSchema } from "./kms";
import { firstHiddenCharacter, HIDDEN_CHARACTER_MESSAGE } from "./plain-text";
import { createUserSchema } from "./users";

// Characters that let an approval diff show something other than what it applies (SEC-2).
const HOSTILE: Record<string, string> = {
  NUL: "acme\u0000web",
  "line break": "acme\nweb",
  tab: "acme\tweb",
  escape: "acme\u001b[31mweb",
  DEL: "acme\u007fweb",
  "C1 control": "acme\u0085web",
  "right-to-left override": "job-\u202Egnp.exe",
  "right-to-left isolate": "job-\u2067x",
  "left-to-right mark": "job\u200Ex",
  "zero-width space": "acme\u200Bweb",
  "zero-width joiner": "acme\u200Dweb",
  "byte-order mark": "ac\uFEFFme",
  "line separator": "acme\u2028web",
};

// Every free-text name field, with the rest of a valid input around it.
const FIELDS: { what: string; schema: z.ZodType; input: (v: string) => unknown; path: string }[] = [
  { what: "user name", schema: createUserSchema, input: (name) => ({ email: "a@b.example", name, role: "BACKUP_VIEWER", password: "correct horse battery" }), path: "name" },
  { what: "job name", schema: jobBasicsSchema, input: (name) => ({ name }), path: "name" },
  { what: "job description", schema: jobBasicsSchema, input: (description) => ({ name: "ok", description }), path: "description" },
  { what: "repository name", schema: createRepositorySchema, input: (name) => ({ name, path: "/srv/repo" }), path: "name" },
  { what: "repository description", schema: createRepositorySchema, input: (description) => ({ name: "ok", path: "/srv/repo", description }), path: "description" },
  { what: "password hint", schema: jobEncryptionSchema, input: (passwordHint) => ({ encryptionMode: "password", password: "a long password 1", passwordConfirm: "a long password 1", passwordHint }), path: "passwordHint" },
  { what: "KMS cluster name", schema: registerKmsClusterSchema.pick({ name: true }), input: (name) => ({ name }), path: "name" },
];

describe("names refuse invisible and control characters (one shared rule)", () => {
  for (const f of FIELDS) {
    it(`${f.what}: accepts plain text, including accents and emoji`, () => {
      const r = f.schema.safeParse(f.input("Café Zürich – 東京 🔒"));
      expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    });
    for (const [label, value] of Object.entries(HOSTILE)) {
      it(`${f.what}: refuses a ${label}, saying why`, () => {
        const r = f.schema.safeParse(f.input(value));
        expect(r.success).toBe(false);
        const issue = r.error!.issues.find((i) => i.path.join(".") === f.path);
        expect(issue?.message).toContain(HIDDEN_CHARACTER_MESSAGE);
      });
    }
  }

  it("names the character it found", () => {
    expect(firstHiddenCharacter("x\u202Ey")).toBe("U+202E");
    expect(firstHiddenCharacter("plain")).toBeNull();
  });
});
