// A Strongroom repository: create or open one on a RepositoryStore, list its restore points and
// chains without keys (KEY-9), open a point with a KeyRing, and reach the session, verify and
// retention operations. The format is FORMAT.md beside this file.

import { idHex, newId, systemRandom, type RandomSource } from "../bytes";
import { EngineError, FileDamagedError, InvalidArgumentError, KeysUnavailableError, NotFoundError } from "../errors";
import { CipherId, CompressionId, HashId } from "../format-registry";
import { decodeKeyHeader, describeKey, encodeKeyHeader, type KeyHeader } from "../keys/key-header";
import type { KeyRing } from "../keys/key-ring";
import { unwrapWithKey } from "../keys/wrap";
import { BackupSession, type BeginPointOptions } from "./backup-session";
import { chainContext, chainFileName, decodeChain, openChainBody } from "./chain-file";
import {
  CONFIG_FILE,
  decodeConfig,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_PACK_TARGET,
  encodeConfig,
  validateConfig,
  type RepositoryConfig,
} from "./config-file";
import { OpenPoint, type PointKeys } from "./open-point";
import { decodePoint, openPointBody, pointContext, pointFileName, type DecodedPoint } from "./point-file";
import type { IndexFile } from "./index-file";
import { RecordCatalogue, type CatalogueLoadOptions } from "./record-catalogue";
import { applyRetention, deletePoint, type RetentionOptions, type RetentionReport } from "./retention";
import type { RepositoryStore } from "./store";
import { verifyRepository, type VerifyOptions, type VerifyReport } from "./verify";

export interface RepositoryOptions {
  /** Ids, keys, salts and wrap nonces come from here (crypto.randomBytes unless a test fixes it). */
  random?: RandomSource;
  now?: () => number;
  /** Who holds locks ("host/pid/job"), shown when the repository is locked. */
  owner?: string;
}

export interface CreateRepositoryOptions extends RepositoryOptions {
  blockSize?: number;
  packTargetSize?: number;
  immutabilityMs?: number;
}

export interface PointSummary {
  pointId: string;
  chainId: string;
  parentPointId: string | null;
  createdAt: Date;
  immutableUntil: Date | null;
  /** KEY-7: `password:<id>`, `kms:<kmsId>/<keyId>@<version>`, `keyset:<id>`. */
  keyIds: string[];
  passwordHints: string[];
  storageKeyId: string;
  sessionKeyIds: string[];
  packCount: number;
}

export interface PointListing {
  points: PointSummary[];
  /** Point files whose header cannot be read (damage is reported, never skipped silently). */
  unreadable: Array<{ file: string; reason: string }>;
}

export interface ChainSummary {
  chainId: string;
  updatedAt: Date;
  generation: number;
  /** The (latest) keys that open the chain file, hence every point it holds a storage key for. */
  keyIds: string[];
  points: Array<{ pointId: string; createdAt: Date; keyIds: string[] }>;
  problem?: string;
}

export async function createRepository(store: RepositoryStore, options: CreateRepositoryOptions = {}): Promise<Repository> {
  if ((await store.size(CONFIG_FILE)) !== undefined) throw new InvalidArgumentError("a repository already exists here");
  const random = options.random ?? systemRandom;
  const config: RepositoryConfig = {
    repositoryId: newId(random),
    createdAt: (options.now ?? Date.now)(),
    blockSize: options.blockSize ?? DEFAULT_BLOCK_SIZE,
    packTargetSize: options.packTargetSize ?? DEFAULT_PACK_TARGET,
    immutabilityMs: options.immutabilityMs ?? 0,
    cipherId: CipherId.aes256gcm,
    hashId: HashId.blake3_256,
    compressionId: CompressionId.zstd,
  };
  validateConfig(config);
  await store.put(CONFIG_FILE, encodeConfig(config));
  return new Repository(store, config, options);
}

export async function openRepository(store: RepositoryStore, options: RepositoryOptions = {}): Promise<Repository> {
  let data: Buffer;
  try {
    data = await store.get(CONFIG_FILE);
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError("a Strongroom repository (no config file)");
    throw e;
  }
  return new Repository(store, decodeConfig(data), options);
}

export class Repository {
  readonly random: RandomSource;
  readonly now: () => number;
  readonly owner: string;
  /**
   * Decoded point files by file name, for the backup path's scans (`scanPoints({ reuse: true })`).
   * Point files are written once, atomically, and never rewritten — only deleted by retention —
   * so a name still listed holds what was decoded; names no longer listed are dropped.
   */
  readonly #points = new Map<string, DecodedPoint>();
  /**
   * Decoded index files by name, with their size (`loadCatalogue({ reuse: true })`). Retention
   * rewrites an index under its name when packs go, always with fewer packs, hence fewer bytes:
   * a file whose size changed is read again; one no longer listed is dropped.
   */
  readonly #indexes = new Map<string, { size: number; index: IndexFile }>();

  constructor(
    readonly store: RepositoryStore,
    readonly config: RepositoryConfig,
    options: RepositoryOptions = {},
  ) {
    this.random = options.random ?? systemRandom;
    this.now = options.now ?? Date.now;
    this.owner = options.owner ?? `strongroom/${process.pid}`;
  }

  get id(): string {
    return idHex(this.config.repositoryId);
  }

  // ---- listing without keys (KEY-9) ----

  async readPointFile(pointId: string): Promise<DecodedPoint> {
    const file = pointFileName(pointId);
    const decoded = decodePoint(file, await this.store.get(file));
    if (!decoded.header.repositoryId.equals(this.config.repositoryId)) throw new FileDamagedError(file, "inconsistent", "belongs to another repository");
    return decoded;
  }

  /**
   * Every point header; unreadable files are returned beside, never dropped. With `reuse`, files
   * this object decoded before are not read again (the backup path: a session's VMs each look for
   * their chain's newest point, and a repository holds thousands); checks and listings read all.
   */
  async scanPoints(o: { reuse?: boolean } = {}): Promise<{ points: DecodedPoint[]; unreadable: Array<{ file: string; error: EngineError }> }> {
    const points: DecodedPoint[] = [];
    const unreadable: Array<{ file: string; error: EngineError }> = [];
    const files = await this.store.list("points/");
    if (o.reuse) {
      const listed = new Set(files);
      for (const name of this.#points.keys()) if (!listed.has(name)) this.#points.delete(name);
    }
    for (const file of files) {
      const known = o.reuse ? this.#points.get(file) : undefined;
      if (known) {
        points.push(known);
        continue;
      }
      try {
        const decoded = await this.readPointFile(file.slice("points/".length));
        points.push(decoded);
        this.#points.set(file, decoded);
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        unreadable.push({ file, error: e });
      }
    }
    // Oldest first; within the same millisecond a parent comes before its child.
    const isParent = (p: DecodedPoint, q: DecodedPoint) => q.header.parentPointId?.equals(p.header.pointId) ?? false;
    points.sort(
      (a, b) => a.header.createdAt - b.header.createdAt || (isParent(a, b) ? -1 : isParent(b, a) ? 1 : Buffer.compare(a.header.pointId, b.header.pointId)),
    );
    return { points, unreadable };
  }

  async listPoints(): Promise<PointListing> {
    const { points, unreadable } = await this.scanPoints();
    return { points: points.map(summarize), unreadable: unreadable.map((u) => ({ file: u.file, reason: u.error.message })) };
  }

  /** Chain metadata files, read without keys: the points each lists and the keys that open it (KEY-8/9). */
  async listChains(): Promise<ChainSummary[]> {
    const out: ChainSummary[] = [];
    for (const file of await this.store.list("chains/")) {
      try {
        const { header } = decodeChain(file, await this.store.get(file));
        out.push({
          chainId: idHex(header.chainId),
          updatedAt: new Date(header.updatedAt),
          generation: header.generation,
          keyIds: header.protections.map((p) => describeKey(p.header)),
          points: header.points.map((p) => ({ pointId: idHex(p.pointId), createdAt: new Date(p.createdAt), keyIds: p.keyIds.map((k) => idHex(k)) })),
        });
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        out.push({ chainId: file, updatedAt: new Date(0), generation: 0, keyIds: [], points: [], problem: e.message });
      }
    }
    return out;
  }

  /** Key headers in keys/ (the catalogue of every key that protects something here). */
  async listKeys(): Promise<string[]> {
    const out: string[] = [];
    for (const file of await this.store.list("keys/")) out.push(describeKey(decodeKeyHeader(await this.store.get(file), file)));
    return out;
  }

  /** Writes key headers to keys/ unless present (a catalogue; points embed their own copies). */
  async recordKeyHeaders(headers: KeyHeader[]): Promise<void> {
    for (const h of headers) {
      const file = `keys/${idHex(h.keyId)}`;
      if ((await this.store.size(file)) === undefined) await this.store.put(file, encodeKeyHeader(h));
    }
  }

  /**
   * Every index file's tables. With `reuse`, index files this object decoded before and whose size
   * is unchanged are not read again (the backup path, under the session's shared lock, which
   * keeps retention out while it runs); verify and retention read every file.
   */
  async loadCatalogue(o: { reuse?: boolean; deferred?: boolean } = {}): Promise<RecordCatalogue> {
    if (o.deferred) return RecordCatalogue.deferred(this.store, o.reuse ? () => this.#reusedIndexes() : undefined);
    if (!o.reuse) return RecordCatalogue.load(this.store);
    return RecordCatalogue.load(this.store, await this.#reusedIndexes());
  }

  /** The index listing, and the files decoded before whose size is unchanged (looked at together). */
  async #reusedIndexes(): Promise<CatalogueLoadOptions> {
    const files = await this.store.list("index/");
    const listed = new Set(files);
    for (const name of this.#indexes.keys()) if (!listed.has(name)) this.#indexes.delete(name);
    const known = new Map<string, IndexFile>();
    await Promise.all(
      files.map(async (file) => {
        const cached = this.#indexes.get(file);
        if (cached && (await this.store.size(file)) === cached.size) known.set(file, cached.index);
      }),
    );
    return { files, known, onDecoded: (file, size, index) => this.#indexes.set(file, { size, index }) };
  }

  // ---- opening points ----

  /**
   * Unwraps a point's keys: its own protections first (password, KMS, keyset, keys already in the
   * ring), then the chain file (KEY-8), whose storage keys are added to the ring for the chain's
   * other points.
   */
  async openPointKeys(p: DecodedPoint, ring: KeyRing): Promise<PointKeys> {
    const { header } = p;
    const ctx = pointContext(header.repositoryId, header.pointId);
    const what = `restore point ${idHex(header.pointId)}`;
    let storageKey;
    try {
      storageKey = await ring.unwrap(header.protections, ctx, "storage", what);
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      if (!(await this.loadChainKeys(idHex(header.chainId), ring))) throw e;
      storageKey = ring.knownKey(header.storageKeyId);
      if (!storageKey) throw e;
    }
    if (!storageKey.id.equals(header.storageKeyId)) throw new FileDamagedError(p.file, "inconsistent", "storage key id mismatch");
    const metakey = unwrapWithKey(header.metakeyWrap, storageKey, ctx, "metakey", what);
    const sessionKeys = new Map(header.sessionKeyWraps.map((w) => {
      const k = unwrapWithKey(w, storageKey, ctx, "session", what);
      return [k.idHex, k] as const;
    }));
    return { storageKey, metakey, sessionKeys };
  }

  /** Opens chains/<chainId>.vbm with the ring and adds its storage keys to it. False if it cannot. */
  async loadChainKeys(chainId: string, ring: KeyRing): Promise<boolean> {
    const file = chainFileName(chainId);
    let data: Buffer;
    try {
      data = await this.store.get(file);
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
    try {
      const chain = decodeChain(file, data);
      const ctx = chainContext(chain.header.repositoryId, chain.header.chainId);
      const chainKey = await ring.unwrap(chain.header.protections, ctx, "chain", `chain ${chainId}`);
      for (const key of openChainBody(chain, chainKey).values()) ring.addKnownKey(key);
      return true;
    } catch (e) {
      if (e instanceof EngineError) return false;
      throw e;
    }
  }

  /**
   * Opens a point. Without a catalogue, the index files are read only when the first block is
   * (RecordCatalogue.deferred): opening a point to look at its keys and disks reads no index.
   */
  async readPoint(pointId: string, ring: KeyRing, catalogue?: RecordCatalogue): Promise<OpenPoint> {
    const decoded = await this.readPointFile(pointId);
    const keys = await this.openPointKeys(decoded, ring);
    const body = openPointBody(decoded, keys.metakey);
    return new OpenPoint(this.store, catalogue ?? RecordCatalogue.deferred(this.store), this.config.blockSize, decoded, keys, body);
  }

  /** The newest committed point of a chain, if any (point files this object decoded before are reused). */
  async latestPointOf(chainId: string): Promise<DecodedPoint | undefined> {
    const { points } = await this.scanPoints({ reuse: true });
    return points.filter((p) => idHex(p.header.chainId) === chainId).at(-1);
  }

  // ---- operations ----

  /** Starts a backup session that will produce one restore point, visible only after commit(). */
  async beginPoint(options: BeginPointOptions): Promise<BackupSession> {
    return BackupSession.begin(this, options);
  }

  /** BKP-7 health check of one point or of the whole repository. */
  async verify(options: VerifyOptions): Promise<VerifyReport> {
    return verifyRepository(this, options);
  }

  /** BKP-8: keep the newest `keep` points per chain; never deletes what a kept point needs. */
  async applyRetention(options: RetentionOptions): Promise<RetentionReport> {
    return applyRetention(this, options);
  }

  /** Deletes one point (ImmutabilityError during its immutability period) and unreferenced packs. */
  async deletePoint(pointId: string, options: { now?: number } = {}): Promise<RetentionReport> {
    return deletePoint(this, pointId, options);
  }

  /** What the operator must supply to open a point (KEY-9), or [] when the ring opens it. */
  async keysNeeded(pointId: string, ring: KeyRing): Promise<string[]> {
    const decoded = await this.readPointFile(pointId);
    try {
      await this.openPointKeys(decoded, ring);
      return [];
    } catch (e) {
      if (e instanceof KeysUnavailableError) return e.needed;
      if (e instanceof EngineError) return decoded.header.protections.map((p) => describeKey(p.header));
      throw e;
    }
  }
}

export function summarize(p: DecodedPoint): PointSummary {
  const h = p.header;
  return {
    pointId: idHex(h.pointId),
    chainId: idHex(h.chainId),
    parentPointId: h.parentPointId ? idHex(h.parentPointId) : null,
    createdAt: new Date(h.createdAt),
    immutableUntil: h.immutableUntil > h.createdAt ? new Date(h.immutableUntil) : null,
    keyIds: h.protections.map((x) => describeKey(x.header)),
    passwordHints: h.protections.flatMap((x) => (x.header.kind === "password" && x.header.hint ? [x.header.hint] : [])),
    storageKeyId: idHex(h.storageKeyId),
    sessionKeyIds: h.sessionKeyWraps.map((w) => idHex(w.targetKeyId)),
    packCount: h.packIds.length,
  };
}
