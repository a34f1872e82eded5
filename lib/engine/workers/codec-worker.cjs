// Entry point of a block codec worker thread. The engine is TypeScript run by tsx (no build step):
// a worker does not inherit a loader reliably (vitest, tsx, plain node differ), so this file
// registers tsx's CommonJS hook itself and loads codec-worker.ts. A compiled codec-worker.js
// beside it, if there ever is one, is used as it is.
"use strict";
const { existsSync } = require("node:fs");
const path = require("node:path");

const compiled = path.join(__dirname, "codec-worker.js");
if (existsSync(compiled)) {
  require(compiled);
} else {
  require("tsx/cjs/api").register();
  require("./codec-worker.ts");
}
