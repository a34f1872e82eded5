// Administrators read page texts, messages and session logs; rule ids ("TRN-3") mean nothing to
// them (issue 13). This scans every string literal, template text and JSX text — never comments —
// in what a person reads: components/, app/, lib/services, lib/engine, lib/compliance. Ids stay
// in comments, tests and commit messages. lib/runner is being rewritten into lib/jobs (not scanned yet).
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const RULE_ID = /\b(SEC|KEY|BKP|TRN|VME|INV|RST|REP|FOV|FBK)-\d+\b/;
const ROOTS = ["components", "app", "lib/services", "lib/engine", "lib/compliance"];
const root = path.resolve(__dirname, "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (/\.tsx?$/.test(e.name) && !/\.test\.ts$|\.d\.ts$/.test(e.name) && !rel.includes(`${path.sep}testing${path.sep}`)) out.push(rel);
  }
  return out;
}

/** Every text a person could read in `file`, with its line: literals, template parts, JSX text. */
export function visibleTexts(file: string, text: string): { line: number; text: string }[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: { line: number; text: string }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node) || ts.isJsxText(node)) {
      // Import paths are not text.
      if (!(ts.isStringLiteral(node) && (ts.isImportDeclaration(node.parent) || ts.isExportDeclaration(node.parent)))) {
        found.push({ line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: node.getText() });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe("user-visible text cites no rule ids", () => {
  it("the scanner sees strings and JSX text but not comments", () => {
    const texts = visibleTexts("x.tsx", `// TRN-3 in a comment\n/* KEY-5 */ const a = "say (BKP-8)"; const b = <p>Rule RST-4</p>;`).map((t) => t.text);
    expect(texts.filter((t) => RULE_ID.test(t))).toEqual(['"say (BKP-8)"', "Rule RST-4"]);
  });

  it("components, app, services, engine and compliance say the rule in words", () => {
    const offenders: string[] = [];
    for (const dir of ROOTS) {
      for (const file of sources(dir)) {
        for (const t of visibleTexts(file, fs.readFileSync(path.join(root, file), "utf8"))) {
          if (RULE_ID.test(t.text)) offenders.push(`${file}:${t.line} ${t.text.slice(0, 120)}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  }, 60_000); // parses every source file: seconds on a loaded machine
});
