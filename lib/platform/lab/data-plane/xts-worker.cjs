// Entry point of a lab host XTS worker thread (xts-pool.ts): registers tsx's CommonJS hook, as the
// engine's codec-worker.cjs does, and loads xts-worker.ts (or a compiled xts-worker.js beside it).
"use strict";
const { existsSync } = require("node:fs");
const path = require("node:path");

const compiled = path.join(__dirname, "xts-worker.js");
if (existsSync(compiled)) {
  require(compiled);
} else {
  require("tsx/cjs/api").register();
  require("./xts-worker.ts");
}
