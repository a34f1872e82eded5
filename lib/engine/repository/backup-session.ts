// One backup session producing one restore point: beginPoint → writeDisk (per disk) → commit.
//
// Keys: a new session key and metakey (KEY-1/2) and a new storage key (KEY-3) per session; the
// storage key is wrapped under the job's password key / current KMS key version / recovery
// keysets at commit (KEY-4/5/6). Blocks: zero blocks recorded, not stored; identical blocks
// deduplicated against the parent point and within the session; new blocks compressed,
// encrypted and packed. A reused block may be under an older session key: that key is wrapped
// into this point too, so each point opens from its own storage key.
//
// Crash safety (BKP-6): nothing existing is modified before the point file is written; packs and
// the index are new files, the point file appears atomically (the commit), the chain file is
// replaced last. An interrupted session leaves only unreferenced new files.

import { idHex, newId } from "../bytes";
import { EngineError, InvalidArgumentError } from "../errors";
import { NonceSequence } from "../keys/aead";
import { KeyRing } from "../keys/key-ring";
import { keyIdsOf, protectionHeaders, protectKey, resolveProtection, type ProtectionPlan, type ResolvedProtection } from "../keys/protection";
import { SecretKey } from "../keys/secret-key";
import { wrapWithKey } from "../keys/wrap";
import { prepareBlock, sealRecord } from "./block-codec";
import { writeChainFile } from "./chain-writer";
import { encodeIndex, indexFileName, type IndexedPack } from "./index-file";
import { RepositoryLock } from "./locks";
import { blockCountOf, blockLength, type OpenPoint } from "./open-point";
import { PackBuilder, packFileName } from "./pack";
import { encodePoint, pointContext, pointFileName, type BlockEntry, type DiskMap } from "./point-file";
import type { RecordCatalogue } from "./record-catalogue";
import type { Repository } from "./repository";

export interface DiskBlock {
  index: number;
  data: Uint8Array;
}

export interface DiskSource {
  /** Disk size in bytes; the last block may be shorter than the block size. */
  capacity: number;
  /** Blocks to store, each of exactly the block's length. Any order; zero blocks welcome. */
  blocks: Iterable<DiskBlock> | AsyncIterable<DiskBlock>;
  /**
   * Incremental (CBT, BKP-2): blocks not supplied keep their content from the parent point.
   * Without it (a full), blocks not supplied read as zeros.
   */
  inherit?: boolean;
  /** Per-disk metadata the pipeline keeps (storage policy, disk key id — BKP-4). */
  attributes?: Record<string, unknown>;
}

export interface DiskWriteStats {
  diskId: string;
  blocksIn: number;
  zeroBlocks: number;
  dedupedBlocks: number;
  storedBlocks: number;
  inheritedBlocks: number;
  bytesIn: number;
  bytesStored: number;
}

export interface BeginPointOptions {
  /** The chain (backup job × VM) to extend; a new chain when omitted. 32 hex digits. */
  chainId?: string;
  /** What protects the new point: password key and/or KMS key, recovery keysets. */
  protection: ProtectionPlan;
  /** Keys to open the parent point and the previous chain file; the plan's keys are added. */
  keyRing?: KeyRing;
  /** "latest" (default): deduplicate against and inherit from the chain's newest point. */
  parent?: "latest" | "none";
  /** Point metadata the pipeline keeps (VM configuration, keyId, encryption.bundle — BKP-4). */
  attributes?: Record<string, unknown>;
  /** Nonce fixed field of this writer; distinct per worker writing with the same session key. */
  writerId?: number;
}

export interface CommitResult {
  pointId: string;
  chainId: string;
  keyIds: string[];
  storageKeyId: string;
  sessionKeyIds: string[];
  disks: DiskWriteStats[];
  /** Problems after the point became visible (chain file, lock); the point itself is complete. */
  warnings: string[];
}

type DedupeTarget = Extract<BlockEntry, { kind: "data" }>;

export class BackupSession {
  private state: "open" | "committed" | "failed" | "aborted" = "open";
  private readonly sessionKey: SecretKey;
  private readonly metakey: SecretKey;
  private readonly storageKey: SecretKey;
  private readonly nonces: NonceSequence;
  private readonly usedSessionKeys = new Map<string, SecretKey>();
  private readonly dedupe = new Map<string, DedupeTarget>();
  private readonly disks = new Map<string, DiskMap>();
  private readonly stats: DiskWriteStats[] = [];
  private readonly written: IndexedPack[] = [];
  private pack: PackBuilder | undefined;
  /** Packs of this session (written or being built): their records use this session's key. */
  private readonly ownPacks = new Set<string>();
  readonly pointId: Buffer;
  readonly sessionId: Buffer;
  readonly chainId: Buffer;
  private readonly createdAt: number;

  private constructor(
    private readonly repo: Repository,
    private readonly options: BeginPointOptions,
    private readonly protection: ResolvedProtection,
    private readonly ring: KeyRing,
    private readonly lock: RepositoryLock,
    private readonly catalogue: RecordCatalogue,
    private readonly parent: OpenPoint | undefined,
  ) {
    const random = repo.random;
    this.createdAt = repo.now();
    this.chainId = options.chainId ? Buffer.from(options.chainId, "hex") : newId(random);
    this.sessionId = newId(random);
    this.pointId = newId(random);
    this.sessionKey = SecretKey.generate("session", random);
    this.metakey = SecretKey.generate("metakey", random);
    this.storageKey = SecretKey.generate("storage", random);
    this.nonces = new NonceSequence(options.writerId ?? 0);
    this.usedSessionKeys.set(this.sessionKey.idHex, this.sessionKey);
    for (const d of parent?.body.disks ?? []) for (const e of d.blocks.values()) if (e.kind === "data") this.dedupe.set(e.contentHash.toString("hex"), e);
  }

  static async begin(repo: Repository, options: BeginPointOptions): Promise<BackupSession> {
    if (options.chainId !== undefined && !/^[0-9a-f]{32}$/.test(options.chainId)) throw new InvalidArgumentError("chainId is 32 hex digits");
    const protection = await resolveProtection(options.protection, repo.now());
    const ring = options.keyRing ?? new KeyRing();
    if (options.protection.password) ring.addPasswordKey(options.protection.password);
    if (options.protection.kms) ring.addKms(options.protection.kms.wrapper);
    const lock = await RepositoryLock.acquire(repo.store, "shared", { owner: repo.owner, now: repo.now(), random: repo.random });
    try {
      const catalogue = await repo.loadCatalogue();
      const latest = options.chainId && options.parent !== "none" ? await repo.latestPointOf(options.chainId) : undefined;
      const parent = latest ? await repo.readPoint(idHex(latest.header.pointId), ring, catalogue) : undefined;
      return new BackupSession(repo, options, protection, ring, lock, catalogue, parent);
    } catch (e) {
      await lock.release().catch(() => undefined);
      throw e;
    }
  }

  get parentPointId(): string | undefined {
    return this.parent?.pointId;
  }

  async writeDisk(diskId: string, source: DiskSource): Promise<DiskWriteStats> {
    this.assertOpen();
    if (!diskId || diskId.length > 200) throw new InvalidArgumentError("a disk id is 1–200 characters");
    if (this.disks.has(diskId)) throw new InvalidArgumentError(`disk ${diskId} was already written in this session`);
    if (!Number.isSafeInteger(source.capacity) || source.capacity < 0) throw new InvalidArgumentError("disk capacity must be a byte count");
    const { blockSize } = this.repo.config;
    const blockCount = blockCountOf(source.capacity, blockSize);
    if (blockCount > 0xffffffff) throw new InvalidArgumentError("disk too large for this block size");
    const map: DiskMap = { diskId, capacity: source.capacity, attributes: source.attributes ?? {}, blocks: new Map() };
    const stats: DiskWriteStats = { diskId, blocksIn: 0, zeroBlocks: 0, dedupedBlocks: 0, storedBlocks: 0, inheritedBlocks: 0, bytesIn: 0, bytesStored: 0 };
    // Blocks whose length changed with the capacity (a grown disk's old last block) cannot be
    // carried over: the caller must supply them.
    const mustSupply = new Set<number>();
    if (source.inherit) {
      const old = this.parent?.body.disks.find((d) => d.diskId === diskId);
      for (const [i, e] of old?.blocks ?? []) {
        if (i >= blockCount) continue;
        if (e.kind === "zero" || blockLength(source.capacity, blockSize, i) === e.plainLength) map.blocks.set(i, e);
        else mustSupply.add(i);
      }
    }
    try {
      for await (const block of source.blocks) {
        mustSupply.delete(block.index);
        const expected = blockLength(source.capacity, blockSize, block.index);
        if (!Number.isInteger(block.index) || block.index < 0 || expected === 0) throw new InvalidArgumentError(`block ${block.index} is outside disk ${diskId}`);
        if (block.data.length !== expected) throw new InvalidArgumentError(`block ${block.index} of disk ${diskId} must be ${expected} bytes`);
        stats.blocksIn++;
        stats.bytesIn += expected;
        map.blocks.set(block.index, await this.storeBlock(block.data, stats));
      }
      if (mustSupply.size) throw new InvalidArgumentError(`disk ${diskId} changed size: supply block ${[...mustSupply][0]} in full`);
      stats.inheritedBlocks = map.blocks.size - stats.blocksIn;
      if (source.inherit) {
        for (const [i, e] of map.blocks) {
          if (e.kind === "data" && !(await this.trackKeyOf(e))) {
            throw new EngineError("FILE_DAMAGED", `block ${i} of disk ${diskId} in the parent point cannot be carried over (its pack is missing); run a full backup`);
          }
        }
      }
    } catch (e) {
      this.state = "failed";
      throw e;
    }
    this.disks.set(diskId, map);
    this.stats.push(stats);
    return stats;
  }

  private async storeBlock(data: Uint8Array, stats: DiskWriteStats): Promise<BlockEntry> {
    const prepared = prepareBlock(data, this.repo.config.compressionId);
    if (prepared.kind === "zero") {
      stats.zeroBlocks++;
      return { kind: "zero" };
    }
    const hit = this.dedupe.get(prepared.contentHash.toString("hex"));
    if (hit && hit.plainLength === prepared.plainLength && (await this.trackKeyOf(hit))) {
      stats.dedupedBlocks++;
      return hit;
    }
    const { config } = this.repo;
    if (!this.pack) {
      this.pack = new PackBuilder(config.repositoryId, newId(this.repo.random), this.repo.now());
      this.ownPacks.add(idHex(this.pack.packId));
    }
    const entryIndex = this.pack.nextEntryIndex;
    const identity = {
      repositoryId: config.repositoryId,
      packId: this.pack.packId,
      entryIndex,
      sessionKeyId: this.sessionKey.id,
      compressionId: prepared.compressionId,
      plainLength: prepared.plainLength,
      contentHash: prepared.contentHash,
    };
    const record = sealRecord(this.sessionKey.expose(), this.nonces.next(), prepared.payload, identity);
    this.pack.add(record, { sessionKeyId: this.sessionKey.id, compressionId: prepared.compressionId, plainLength: prepared.plainLength });
    const entry: DedupeTarget = { kind: "data", packId: idHex(this.pack.packId), entryIndex, plainLength: prepared.plainLength, contentHash: prepared.contentHash };
    this.dedupe.set(prepared.contentHash.toString("hex"), entry);
    stats.storedBlocks++;
    stats.bytesStored += record.length;
    if (this.pack.byteLength >= config.packTargetSize) await this.flushPack();
    return entry;
  }

  /** Makes sure the session key of a reused record is wrapped into this point. False if unknown. */
  private async trackKeyOf(e: DedupeTarget): Promise<boolean> {
    if (this.ownPacks.has(e.packId)) return true;
    let sessionKeyId: string;
    try {
      sessionKeyId = idHex((await this.catalogue.entry(e.packId, e.entryIndex)).sessionKeyId);
    } catch (err) {
      if (err instanceof EngineError) return false; // the old record is gone: store the block anew
      throw err;
    }
    if (this.usedSessionKeys.has(sessionKeyId)) return true;
    const key = this.parent?.sessionKeysForDedupe().get(sessionKeyId);
    if (!key) return false;
    this.usedSessionKeys.set(sessionKeyId, key);
    return true;
  }

  private async flushPack(): Promise<void> {
    const pack = this.pack;
    if (!pack || pack.entries.length === 0) return;
    const { chunks, length } = pack.finish();
    await this.repo.store.put(packFileName(pack.packId), chunks);
    this.written.push({ packId: pack.packId, packLength: length, entries: pack.entries });
    this.pack = undefined;
    await this.lock.refresh(this.repo.now());
  }

  /** Writes packs, index and the point file; the point is visible from here on. */
  async commit(): Promise<CommitResult> {
    this.assertOpen();
    const { repo } = this;
    const { repositoryId } = repo.config;
    try {
      await this.flushPack();
      if (this.written.length) {
        await repo.store.put(indexFileName(this.sessionId), encodeIndex({ repositoryId, sessionId: this.sessionId, createdAt: repo.now(), packs: this.written }));
      }
      const ctx = pointContext(repositoryId, this.pointId);
      const protections = await protectKey(this.protection, this.storageKey, ctx, repo.random);
      const sessionKeyWraps = [...this.usedSessionKeys.values()].map((k) => wrapWithKey(this.storageKey, k, ctx, repo.random));
      const metakeyWrap = wrapWithKey(this.storageKey, this.metakey, ctx, repo.random);
      await repo.recordKeyHeaders(protectionHeaders(this.protection));
      const committedAt = repo.now();
      const header = {
        repositoryId,
        pointId: this.pointId,
        chainId: this.chainId,
        parentPointId: this.parent ? this.parent.decoded.header.pointId : null,
        sessionId: this.sessionId,
        createdAt: this.createdAt,
        immutableUntil: repo.config.immutabilityMs ? committedAt + repo.config.immutabilityMs : 0,
        storageKeyId: this.storageKey.id,
        protections,
        sessionKeyWraps,
        metakeyWrap,
      };
      const body = { attributes: this.options.attributes ?? {}, disks: [...this.disks.values()] };
      await repo.store.put(pointFileName(this.pointId), encodePoint(header, body, this.metakey));
      this.state = "committed";
      const warnings: string[] = [];
      await writeChainFile(repo, this.ring, this.protection, this.chainId, { pointId: this.pointId, storageKey: this.storageKey }).catch((e: unknown) => {
        if (!(e instanceof EngineError)) throw e;
        warnings.push(`chain metadata file not updated: ${e.message}`);
      });
      await this.lock.release().catch((e: unknown) => {
        if (!(e instanceof EngineError)) throw e;
        warnings.push(`lock not released (it expires): ${e.message}`);
      });
      return {
        pointId: idHex(this.pointId),
        chainId: idHex(this.chainId),
        keyIds: keyIdsOf(protections),
        storageKeyId: this.storageKey.idHex,
        sessionKeyIds: [...this.usedSessionKeys.keys()],
        disks: this.stats,
        warnings,
      };
    } catch (e) {
      if (this.state !== "committed") this.state = "failed";
      throw e;
    } finally {
      this.metakey.destroy();
      this.sessionKey.destroy();
      this.parent?.close();
    }
  }

  /** Gives up: releases the lock. Packs already written stay unreferenced until retention removes them. */
  async abort(): Promise<void> {
    if (this.state === "committed" || this.state === "aborted") return;
    this.state = "aborted";
    this.sessionKey.destroy();
    this.metakey.destroy();
    this.storageKey.destroy();
    this.parent?.close();
    await this.lock.release().catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.state !== "open") throw new InvalidArgumentError(`this backup session is ${this.state}`);
  }
}
