// The body of one lab host XTS worker thread (xts-pool.ts): encrypts a slot of the shared arena in
// place under the DEK the job names, with the same XtsCipher the host uses inline.
import { parentPort } from "node:worker_threads";
import { XtsCipher } from "./xts";
import type { XtsJob, XtsReply } from "./xts-pool";

const port = parentPort;
if (!port) throw new Error("xts-worker runs in a worker thread");

let arena: Buffer | undefined;
let slotBytes = 0;
/** Ciphers by key id, the most recently used last (a few DEKs are in use at once). */
const ciphers = new Map<number, XtsCipher>();

port.on("message", (m: { op: "init"; arena: SharedArrayBuffer; slotBytes: number } | XtsJob) => {
  if (m.op === "init") {
    arena = Buffer.from(m.arena);
    slotBytes = m.slotBytes;
    port.postMessage({ op: "ready" });
    return;
  }
  let reply: XtsReply;
  try {
    let c = ciphers.get(m.keyId);
    if (c) ciphers.delete(m.keyId);
    else c = new XtsCipher(Buffer.from(m.key));
    ciphers.set(m.keyId, c);
    if (ciphers.size > 32) ciphers.delete(ciphers.keys().next().value as number);
    m.key.fill(0);
    const data = arena!.subarray(m.slot * slotBytes, m.slot * slotBytes + m.length);
    if (m.encrypt) c.encryptSectors(m.sector, data, data);
    else c.decryptSectors(m.sector, data, data);
    reply = { id: m.id, ok: true };
  } catch (e) {
    reply = { id: m.id, ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
