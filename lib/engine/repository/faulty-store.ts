// The fault-injecting twin (kopia's blobtesting/faulty.go): wraps any store and makes chosen
// operations fail the way real storage fails — an I/O error after N bytes, a full disk, a process
// killed before the rename — leaving behind exactly what a real filesystem would: the old file
// untouched and a partial or complete temporary. After a simulated crash every further call fails
// until `revive()`, as a dead process does nothing more.

import { randomBytes } from "node:crypto";
import { StoreIoError } from "../errors";
import { chunksOf, isTemporaryName, temporaryNameFor, totalLength, type RepositoryStore } from "./store";

export type StoreOperation = "put" | "get" | "getRange" | "size" | "list" | "delete";

export type Fault =
  | { kind: "crash-before-rename" }
  | { kind: "io-error-after-bytes"; bytes: number }
  | { kind: "disk-full" }
  | { kind: "fail"; errno?: string };

export interface FaultRule {
  op: StoreOperation;
  /** Which names it applies to (default: all). */
  match?: RegExp;
  /** The nth matching call, from 1 (default 1). */
  nth?: number;
  fault: Fault;
}

/** Thrown by a simulated crash: not an engine error, the "process" is gone. */
export class SimulatedCrash extends Error {
  constructor(readonly operation: string, readonly file: string) {
    super(`simulated crash during ${operation} ${file}`);
    this.name = "SimulatedCrash";
  }
}

export class FaultyStore implements RepositoryStore {
  /** Every call in order, for tests that enumerate the steps of an operation. */
  readonly log: Array<{ op: StoreOperation; name: string }> = [];
  private rules: Array<FaultRule & { seen: number }> = [];
  private temporaries = new Map<string, Buffer>();
  private diskBudget: number | undefined;
  private crashed = false;

  constructor(readonly inner: RepositoryStore) {}

  addFault(rule: FaultRule): this {
    this.rules.push({ ...rule, seen: 0 });
    return this;
  }

  /** The disk fills up after `bytes` more bytes are written by puts (ENOSPC, partial temporary). */
  diskFullAfter(bytes: number): this {
    this.diskBudget = bytes;
    return this;
  }

  clearFaults(): this {
    this.rules = [];
    this.diskBudget = undefined;
    return this;
  }

  /** A new process on the same storage: faults cleared, the debris of the crash still there. */
  revive(): this {
    this.crashed = false;
    return this.clearFaults();
  }

  get hasCrashed(): boolean {
    return this.crashed;
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const fault = this.enter("put", name);
    const bytes = Buffer.concat(chunksOf(data));
    const temp = temporaryNameFor(name, randomBytes(8).toString("hex"));
    if (this.diskBudget !== undefined) {
      if (bytes.length > this.diskBudget) {
        this.temporaries.set(temp, bytes.subarray(0, this.diskBudget));
        this.diskBudget = 0;
        throw new StoreIoError("put", name, "ENOSPC");
      }
      this.diskBudget -= bytes.length;
    }
    switch (fault?.kind) {
      case "crash-before-rename":
        this.temporaries.set(temp, bytes);
        this.crashed = true;
        throw new SimulatedCrash("put", name);
      case "io-error-after-bytes":
        this.temporaries.set(temp, bytes.subarray(0, Math.min(fault.bytes, totalLength([bytes]))));
        throw new StoreIoError("put", name, "EIO");
      case "disk-full":
        throw new StoreIoError("put", name, "ENOSPC");
      case "fail":
        throw new StoreIoError("put", name, fault.errno ?? "EIO");
    }
    await this.inner.put(name, bytes);
  }

  async get(name: string): Promise<Buffer> {
    this.failIf(this.enter("get", name), "get", name);
    return this.inner.get(name);
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    this.failIf(this.enter("getRange", name), "read", name);
    return this.inner.getRange(name, offset, length);
  }

  async size(name: string): Promise<number | undefined> {
    this.failIf(this.enter("size", name), "stat", name);
    return this.inner.size(name);
  }

  async list(prefix: string): Promise<string[]> {
    this.failIf(this.enter("list", prefix), "list", prefix);
    return this.inner.list(prefix);
  }

  async listTemporary(): Promise<string[]> {
    this.failIf(this.enter("list", "(temporaries)"), "list", "(temporaries)");
    return [...new Set([...(await this.inner.listTemporary()), ...this.temporaries.keys()])].sort();
  }

  async delete(name: string): Promise<void> {
    this.failIf(this.enter("delete", name), "delete", name);
    if (isTemporaryName(name) && this.temporaries.delete(name)) return;
    await this.inner.delete(name);
  }

  private enter(op: StoreOperation, name: string): Fault | undefined {
    if (this.crashed) throw new SimulatedCrash(op, name);
    this.log.push({ op, name });
    for (const rule of this.rules) {
      if (rule.op !== op || (rule.match && !rule.match.test(name))) continue;
      rule.seen++;
      if (rule.seen === (rule.nth ?? 1)) return rule.fault;
    }
    return undefined;
  }

  private failIf(fault: Fault | undefined, operation: string, name: string): void {
    if (!fault) return;
    if (fault.kind === "crash-before-rename") {
      this.crashed = true;
      throw new SimulatedCrash(operation, name);
    }
    throw new StoreIoError(operation, name, fault.kind === "fail" ? (fault.errno ?? "EIO") : fault.kind === "disk-full" ? "ENOSPC" : "EIO");
  }
}

export function isSimulatedCrash(e: unknown): e is SimulatedCrash {
  return e instanceof SimulatedCrash;
}
