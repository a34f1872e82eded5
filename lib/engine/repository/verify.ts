// Health check (BKP-7): reads every block a point (or every point) references, checks its record
// hash, authenticates it under its session key with the identity the point's map expects, and
// checks its content hash; reports damage per restore point and disk, naming each damaged block.
// Each pack is read once, and a record shared by many points is checked once per expectation.
// Points the key ring cannot open get the keyless part (record hashes) and say which keys
// would open them.

import { idHex } from "../bytes";
import { EngineError, FileDamagedError, KeysUnavailableError, NotFoundError, type DamageReason } from "../errors";
import type { KeyRing } from "../keys/key-ring";
import type { SecretKey } from "../keys/secret-key";
import { checkRecord } from "./open-point";
import { decodePackTableFromFile, packFileName, packIdFromFileName, type PackEntry } from "./pack";
import { openPointBody, packsOf, type BlockEntry, type DecodedPoint } from "./point-file";
import type { Repository } from "./repository";
import { describeKey } from "../keys/key-header";
import { chainContext, chainFileName, decodeChain, openChainBody } from "./chain-file";

export interface VerifyOptions {
  /** One point; the whole repository when omitted. */
  pointId?: string;
  /** Keys to authenticate blocks; without them only record hashes are checked. */
  keyRing?: KeyRing;
}

export interface DamagedBlock {
  blockIndex: number;
  reason: DamageReason;
  packId: string;
  entryIndex: number;
}

export interface DiskReport {
  diskId: string;
  dataBlocks: number;
  zeroBlocks: number;
  damaged: DamagedBlock[];
}

export interface PointReport {
  pointId: string;
  chainId: string | null;
  status: "ok" | "damaged" | "keys-unavailable" | "unreadable";
  /** Point-level problem (metadata damaged, keys missing); never a secret. */
  problem?: string;
  keysNeeded?: string[];
  disks: DiskReport[];
  /** Keyless check of a point whose keys are unavailable: records of its packs that are damaged. */
  damagedRecords: Array<{ packId: string; entryIndex: number; reason: DamageReason }>;
}

export interface VerifyReport {
  ok: boolean;
  points: PointReport[];
  recordsChecked: number;
  bytesRead: number;
  /** Whole-repository checks only. */
  unreferencedPacks: string[];
  unreadableIndexFiles: string[];
  temporaries: number;
  /**
   * Chain metadata files (.vbm, KEY-8) that are damaged: unreadable (zero-length, truncated, a
   * flipped bit), or whose sealed body fails authentication under keys that open it.
   */
  damagedChainFiles: Array<{ file: string; problem: string }>;
  /**
   * Packs whose header, entry table or footer is damaged (or disagrees with the index) while their
   * records may still be intact: the index locates them today, but the pack no longer describes
   * itself, so it is lost with the index.
   */
  damagedPacks: Array<{ packId: string; problem: string }>;
}

type DataEntry = Extract<BlockEntry, { kind: "data" }>;
interface Expectation {
  report: PointReport;
  disk?: DiskReport;
  blockIndex?: number;
  entryIndex: number;
  block?: DataEntry;
  sessionKeys?: Map<string, SecretKey>;
}

export async function verifyRepository(repo: Repository, options: VerifyOptions): Promise<VerifyReport> {
  const report: VerifyReport = { ok: true, points: [], recordsChecked: 0, bytesRead: 0, unreferencedPacks: [], unreadableIndexFiles: [], temporaries: 0, damagedChainFiles: [], damagedPacks: [] };
  const decoded: DecodedPoint[] = [];
  const files = options.pointId ? [`points/${options.pointId}`] : await repo.store.list("points/");
  for (const file of files) {
    try {
      decoded.push(await repo.readPointFile(file.slice("points/".length)));
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      if (options.pointId && e instanceof NotFoundError) throw e;
      report.points.push({ pointId: file.slice("points/".length), chainId: null, status: "unreadable", problem: e.message, disks: [], damagedRecords: [] });
    }
  }
  const catalogue = await repo.loadCatalogue();
  const byPack = new Map<string, Expectation[]>();
  const expect = (packId: string, x: Expectation) => (byPack.get(packId) ?? byPack.set(packId, []).get(packId)!).push(x);

  for (const p of decoded) {
    const pr: PointReport = { pointId: idHex(p.header.pointId), chainId: idHex(p.header.chainId), status: "ok", disks: [], damagedRecords: [] };
    report.points.push(pr);
    let sessionKeys: Map<string, SecretKey> | undefined;
    try {
      if (!options.keyRing) throw new KeysUnavailableError(`restore point ${pr.pointId}`, p.header.protections.map((x) => describeKey(x.header)));
      const keys = await repo.openPointKeys(p, options.keyRing);
      sessionKeys = keys.sessionKeys;
      const body = openPointBody(p, keys.metakey);
      const declared = new Set(p.header.packIds.map((x) => idHex(x)));
      const used = packsOf(body);
      if (used.length !== declared.size || used.some((x) => !declared.has(x))) {
        throw new FileDamagedError(p.file, "inconsistent", "the pack list in the header does not match the block maps");
      }
      for (const d of body.disks) {
        const dr: DiskReport = { diskId: d.diskId, dataBlocks: 0, zeroBlocks: 0, damaged: [] };
        pr.disks.push(dr);
        for (const [blockIndex, e] of [...d.blocks].sort((a, b) => a[0] - b[0])) {
          if (e.kind === "zero") dr.zeroBlocks++;
          else {
            dr.dataBlocks++;
            expect(e.packId, { report: pr, disk: dr, blockIndex, entryIndex: e.entryIndex, block: e, sessionKeys });
          }
        }
      }
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      if (e instanceof FileDamagedError) {
        pr.status = "damaged";
        pr.problem = e.message;
        continue;
      }
      pr.status = "keys-unavailable";
      pr.problem = e.message;
      pr.keysNeeded = e instanceof KeysUnavailableError ? e.needed : p.header.protections.map((x) => describeKey(x.header));
      // Keyless: every record of every pack the point references (entryIndex -1 = all).
      for (const packId of p.header.packIds) expect(idHex(packId), { report: pr, entryIndex: -1 });
    }
  }

  for (const [packId, expectations] of byPack) await checkPack(repo, catalogue.packs.get(packId)?.entries, packId, expectations, report);
  const chains = options.pointId ? decoded.map((p) => chainFileName(p.header.chainId)) : await repo.store.list("chains/");
  for (const file of chains) {
    const problem = await checkChainFile(repo, file, options.keyRing);
    if (problem) report.damagedChainFiles.push({ file, problem });
  }

  if (!options.pointId) {
    const referenced = new Set(decoded.flatMap((p) => p.header.packIds.map((x) => idHex(x))));
    const unreadablePoint = report.points.some((p) => p.status === "unreadable");
    for (const file of await repo.store.list("packs/")) {
      const id = idHex(packIdFromFileName(file));
      if (!referenced.has(id) && !unreadablePoint) report.unreferencedPacks.push(id);
    }
    report.unreadableIndexFiles = catalogue.damagedIndexFiles.map((d) => d.file);
    report.temporaries = (await repo.store.listTemporary()).length;
  }
  for (const p of report.points) {
    const damaged = p.disks.some((d) => d.damaged.length > 0) || p.damagedRecords.length > 0;
    if (damaged && p.status === "ok") p.status = "damaged";
    if (damaged && p.status === "keys-unavailable") p.problem = `${p.problem}; some of its records are damaged`;
  }
  report.ok = report.points.every((p) => p.status === "ok") && report.unreadableIndexFiles.length === 0 && report.damagedChainFiles.length === 0 && report.damagedPacks.length === 0;
  return report;
}

async function checkPack(repo: Repository, indexed: PackEntry[] | undefined, packId: string, expectations: Expectation[], report: VerifyReport): Promise<void> {
  const file = packFileName(packId);
  let pack: Buffer | undefined;
  try {
    pack = await repo.store.get(file);
    report.bytesRead += pack.length;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  let entries = indexed;
  if (pack) {
    try {
      const table = decodePackTableFromFile(file, pack).entries;
      if (indexed && !sameEntries(indexed, table)) report.damagedPacks.push({ packId, problem: "its entry table does not match the index" });
      entries ??= table; // index lost: the pack describes itself
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      // Truncated or damaged header, table or footer: the index still locates the records.
      report.damagedPacks.push({ packId, problem: e.message });
    }
  }
  const results = new Map<string, DamageReason | null>();
  const check = (entryIndex: number, x: Expectation): DamageReason | null => {
    if (!pack) return "missing-file";
    const pe = entries?.[entryIndex];
    if (!pe) return "missing-index";
    const cacheKey = `${entryIndex}:${x.block?.contentHash.toString("hex") ?? "-"}:${x.sessionKeys ? "k" : "-"}`;
    const cached = results.get(cacheKey);
    if (cached !== undefined) return cached;
    report.recordsChecked++;
    const record = pack.subarray(pe.offset, pe.offset + pe.length);
    const result = x.block ? checkRecord(repo.config.repositoryId, x.block, pe, record, x.sessionKeys) : checkRecord(repo.config.repositoryId, KEYLESS, pe, record, undefined);
    const reason = result.ok ? null : result.reason;
    results.set(cacheKey, reason);
    return reason;
  };
  for (const x of expectations) {
    if (x.entryIndex === -1) {
      if (!pack || !entries) {
        x.report.damagedRecords.push({ packId, entryIndex: -1, reason: pack ? "missing-index" : "missing-file" });
        continue;
      }
      for (let i = 0; i < entries.length; i++) {
        const reason = check(i, x);
        if (reason) x.report.damagedRecords.push({ packId, entryIndex: i, reason });
      }
      continue;
    }
    const reason = check(x.entryIndex, x);
    if (reason) x.disk!.damaged.push({ blockIndex: x.blockIndex!, reason, packId, entryIndex: x.entryIndex });
  }
  for (const x of expectations) x.disk?.damaged.sort((a, b) => a.blockIndex - b.blockIndex);
}

const KEYLESS: DataEntry = { kind: "data", packId: "", entryIndex: 0, plainLength: 0, contentHash: Buffer.alloc(32) };

function sameEntries(a: PackEntry[], b: PackEntry[]): boolean {
  return a.length === b.length && a.every((e, i) => e.offset === b[i].offset && e.length === b[i].length && e.recordHash.equals(b[i].recordHash));
}

/** A chain file's problem, or undefined when it reads (and, with keys that open it, authenticates). */
async function checkChainFile(repo: Repository, file: string, ring: KeyRing | undefined): Promise<string | undefined> {
  let chain;
  try {
    chain = decodeChain(file, await repo.store.get(file));
  } catch (e) {
    if (e instanceof NotFoundError) return undefined; // not written yet (a session interrupted before it)
    if (!(e instanceof EngineError)) throw e;
    return e.message;
  }
  const { header } = chain;
  if (!header.repositoryId.equals(repo.config.repositoryId) || chainFileName(header.chainId) !== file) return `${file} belongs to another chain or repository`;
  if (!ring) return undefined;
  let chainKey;
  try {
    chainKey = await ring.unwrap(header.protections, chainContext(header.repositoryId, header.chainId), "chain", `chain ${idHex(header.chainId)}`);
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    return e instanceof FileDamagedError ? e.message : undefined; // no key at hand: only the checksum was checked
  }
  try {
    openChainBody(chain, chainKey);
    return undefined;
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    return e.message;
  }
}
