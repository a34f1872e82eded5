// Prints the closing line of `npm test` from the runners' JSON reports:
//   tests: N passed, N failed, N skipped
// and exits non-zero when any test or any step (typecheck, setup) failed.
import fs from "node:fs";
import path from "node:path";

const [dir, ...failedSteps] = process.argv.slice(2);
let passed = 0, failed = 0, skipped = 0;
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  if (r.stats && "expected" in r.stats) {
    // Playwright
    passed += r.stats.expected + (r.stats.flaky ?? 0);
    failed += r.stats.unexpected;
    skipped += r.stats.skipped;
  } else if ("numPassedTests" in r) {
    // Vitest
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  }
}
console.log("");
if (failedSteps.length) console.log(`Failed steps: ${failedSteps.join("; ")}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || failedSteps.length > 0 || passed === 0 ? 1 : 0);
