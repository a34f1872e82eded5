import os from "node:os";
import { randomBytes } from "node:crypto";

// This process's worker id: host, pid and a random tag (a pid is reused after a restart).
// On globalThis, because Next.js may load this module in more than one bundle.
const g = globalThis as { __strongroomWorkerId?: string };

export function processWorkerId(): string {
  g.__strongroomWorkerId ??= `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  return g.__strongroomWorkerId;
}
