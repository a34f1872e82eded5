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
//
// Pipeline: writeDisk copies each non-zero block into a slot of a BlockCodecPool (lib/engine/
// workers) and moves on; the pool hashes and compresses it (worker threads, or inline). A single
// sequencer then takes the blocks in the order they were supplied — dedupe decision, pack and
// entry index, exactly as a one-by-one writer would — and sends new blocks back to be sealed.
// Sealed records land in their reserved place in the pack; complete packs are written in order,
// a few at a time. Slots and pack buffers are fixed in number: that bounds memory and slows the
// reader down when the codec or the store cannot keep up.

import { idHex, isAllZero, newId } from "../bytes";
import { EngineError, InvalidArgumentError } from "../errors";
import { KeyRing } from "../keys/key-ring";
import { keyIdsOf, protectionHeaders, protectKey, resolveProtection, type ProtectionPlan, type ResolvedProtection } from "../keys/protection";
import { SecretKey } from "../keys/secret-key";
import { wrapWithKey } from "../keys/wrap";
import { BlockCodecPool, defaultThreadCount, type CodecSlot, type PreparedBlock } from "../workers/codec-pool";
import { SIZES } from "../format-registry";
import { allocateShared } from "./aligned-memory";
import { recordLengthOf } from "./block-codec";
import { writeChainFile } from "./chain-writer";
import { encodeIndex, indexFileName, type IndexedPack } from "./index-file";
import { RepositoryLock } from "./locks";
import { blockCountOf, blockLength, type OpenPoint } from "./open-point";
import { PackAssembler, packFileName } from "./pack";
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
  /**
   * Bytes the caller expects to supply (backupDisk passes its planned read): with workers "auto",
   * a disk of at least WORKER_THRESHOLD_BYTES starts the codec's worker threads.
   */
  bytesHint?: number;
}

/** With workers "auto", a disk with this much to write starts worker threads (below: inline is faster). */
export const WORKER_THRESHOLD_BYTES = 64 * 1024 * 1024;

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
  /**
   * Nonce fixed fields of this writer: lane L of its codec (0 = this thread, 1… = worker threads)
   * seals with fixed field `writerId × 256 + L`. Default 0. At most 0xFFFFFE.
   */
  writerId?: number;
  /**
   * Worker threads for hashing, compression and encryption: "auto" (default) starts them for a disk
   * with at least WORKER_THRESHOLD_BYTES to write and runs inline while they start; "off" keeps all
   * work on this thread; "on" sends every block through them (tests: the threaded path on small data).
   */
  workers?: "auto" | "off" | "on";
  /** Threads when they run (default: one per core, at most 4). */
  workerThreads?: number;
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

/** A block on its way through the pipeline, in the order writeDisk received it. */
type Job =
  | { kind: "zero"; index: number; map: DiskMap; stats: DiskWriteStats }
  | { kind: "data"; index: number; map: DiskMap; stats: DiskWriteStats; slot: CodecSlot; length: number; prepared: Promise<PreparedBlock> };

/** Bytes kept behind a pack's records for its table (61 bytes an entry), so it is written in one piece. */
const PACK_TABLE_ROOM = 64 * 1024;
/** Packs held in memory at once (one filling, the rest complete or being written). */
const PACK_MEMORY_BUDGET = 96 * 1024 * 1024;
const MAX_PACKS_IN_MEMORY = 4;

/** A pack buffer: shared, page-aligned memory the codec lanes seal records into (registered target `id`). */
interface PackBuffer {
  buffer: Buffer;
  target: number;
  aligned: boolean;
}

/** Reusable pack buffers, a fixed number of them: waiting for one is the store's backpressure. */
class PackBufferPool {
  private readonly free: PackBuffer[] = [];
  private made = 0;
  private readonly waiters: Array<{ resolve: (b: PackBuffer) => void; reject: (e: unknown) => void }> = [];
  private interrupted: unknown;
  readonly max: number;

  constructor(readonly capacity: number) {
    this.max = Math.max(2, Math.min(MAX_PACKS_IN_MEMORY, Math.floor(PACK_MEMORY_BUDGET / capacity)));
  }

  /** `register` makes a new buffer's memory known to the codec (once per buffer). */
  acquire(register: (memory: SharedArrayBuffer) => number): Promise<PackBuffer> {
    if (this.interrupted !== undefined) return Promise.reject(this.interrupted);
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.made < this.max) {
      this.made++;
      const { memory, buffer, aligned } = allocateShared(this.capacity);
      return Promise.resolve({ buffer, target: register(memory), aligned });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(b: PackBuffer): void {
    const w = this.waiters.shift();
    if (w) w.resolve(b);
    else this.free.push(b);
  }

  interrupt(e: unknown): void {
    this.interrupted ??= e;
    for (const w of this.waiters.splice(0)) w.reject(this.interrupted);
  }
}

export class BackupSession {
  private state: "open" | "committed" | "failed" | "aborted" = "open";
  private readonly sessionKey: SecretKey;
  private readonly metakey: SecretKey;
  private readonly storageKey: SecretKey;
  private readonly usedSessionKeys = new Map<string, SecretKey>();
  private readonly dedupe = new Map<string, DedupeTarget>();
  private readonly disks = new Map<string, DiskMap>();
  private readonly stats: DiskWriteStats[] = [];
  /** Packs written, with their place in creation order (the index lists them in that order). */
  private readonly written: Array<IndexedPack & { seq: number }> = [];
  /** The pack receiving reservations. */
  private pack: PackAssembler | undefined;
  /** The pooled buffer under each pack in memory. */
  private readonly packMemory = new Map<PackAssembler, PackBuffer>();
  private packSeq = 0;
  /** Closed packs not yet handed to the store, oldest first (written in this order). */
  private readonly closedPacks: Array<{ pack: PackAssembler; seq: number }> = [];
  private readonly puts = new Set<Promise<void>>();
  private readonly packBuffers: PackBufferPool;
  private codec: BlockCodecPool | undefined;
  /** Blocks waiting for the sequencer, in the order writeDisk received them. */
  private readonly queue: Job[] = [];
  private sequencerRunning = false;
  private sequencing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly wakeups: Array<() => void> = [];
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
    this.usedSessionKeys.set(this.sessionKey.idHex, this.sessionKey);
    // Header, records up to the target plus the one that crosses it, and room for the table.
    const { packTargetSize, blockSize } = repo.config;
    this.packBuffers = new PackBufferPool(SIZES.packHeader + packTargetSize + recordLengthOf(blockSize) + PACK_TABLE_ROOM);
    for (const d of parent?.body.disks ?? []) for (const e of d.blocks.values()) if (e.kind === "data") this.dedupe.set(e.contentHash.toString("hex"), e);
  }

  static async begin(repo: Repository, options: BeginPointOptions): Promise<BackupSession> {
    if (options.chainId !== undefined && !/^[0-9a-f]{32}$/.test(options.chainId)) throw new InvalidArgumentError("chainId is 32 hex digits");
    const writerId = options.writerId ?? 0;
    if (!Number.isInteger(writerId) || writerId < 0 || writerId > 0xfffffe) throw new InvalidArgumentError("writerId is an integer from 0 to 0xFFFFFE");
    if (options.workerThreads !== undefined && (!Number.isInteger(options.workerThreads) || options.workerThreads < 1 || options.workerThreads > 255)) {
      throw new InvalidArgumentError("workerThreads is an integer from 1 to 255");
    }
    const protection = await resolveProtection(options.protection, repo.now());
    const ring = options.keyRing ?? new KeyRing();
    if (options.protection.password) ring.addPasswordKey(options.protection.password);
    if (options.protection.kms) ring.addKms(options.protection.kms.wrapper);
    const lock = await RepositoryLock.acquire(repo.store, "shared", { owner: repo.owner, now: repo.now(), random: repo.random });
    try {
      // Index and point files this repository object read for an earlier session are not read
      // again, and the index files only when a block is looked up — under this session's shared
      // lock, which keeps retention out until the commit (BKP-5 at scale: a first full reads none).
      const catalogue = await repo.loadCatalogue({ reuse: true, deferred: true });
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

  /**
   * What the parent point — the chain's newest point as the repository holds it now — recorded
   * for a disk (its attributes: the CBT change id an incremental must start from, BKP-2).
   */
  parentDiskAttributes(diskId: string): Record<string, unknown> | undefined {
    return this.parent?.body.disks.find((d) => d.diskId === diskId)?.attributes;
  }

  /** Jobs the codec ran inline and on threads so far (tests and benchmarks look). */
  get codecJobs(): { inline: number; threads: number; threadCount: number } {
    return { ...(this.codec?.jobs ?? { inline: 0, threads: 0 }), threadCount: this.codec?.threadCount ?? 0 };
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
      const codec = this.codecFor(source.bytesHint ?? 0);
      for await (const block of source.blocks) {
        if (this.failure !== undefined) throw this.failure;
        mustSupply.delete(block.index);
        const expected = blockLength(source.capacity, blockSize, block.index);
        if (!Number.isInteger(block.index) || block.index < 0 || expected === 0) throw new InvalidArgumentError(`block ${block.index} is outside disk ${diskId}`);
        if (block.data.length !== expected) throw new InvalidArgumentError(`block ${block.index} of disk ${diskId} must be ${expected} bytes`);
        stats.blocksIn++;
        stats.bytesIn += expected;
        if (isAllZero(block.data)) {
          this.enqueue({ kind: "zero", index: block.index, map, stats });
          continue;
        }
        // The block is copied into a slot before the next one is asked for: callers may reuse buffers.
        const slot = await codec.acquire();
        slot.input.set(block.data);
        const prepared = codec.prepare(slot, expected, this.repo.config.compressionId);
        prepared.catch(() => undefined); // surfaced by the sequencer
        this.enqueue({ kind: "data", index: block.index, map, stats, slot, length: expected, prepared });
      }
      await this.drainSequencer();
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
      this.fail(e);
      await this.quiesce();
      throw e;
    }
    this.disks.set(diskId, map);
    this.stats.push(stats);
    return stats;
  }

  /** The session's codec pool; starts its threads when this disk is worth it (see `workers`). */
  private codecFor(bytesHint: number): BlockCodecPool {
    const mode = this.options.workers ?? "auto";
    const threads = this.options.workerThreads ?? defaultThreadCount();
    const writerId = this.options.writerId ?? 0;
    this.codec ??= new BlockCodecPool({
      blockSize: this.repo.config.blockSize,
      sessionKey: this.sessionKey.expose(),
      fixedField: (lane) => writerId * 256 + lane,
      requireThreads: mode === "on",
      slots: 2 * threads + 2,
    });
    if (mode === "on" || (mode === "auto" && bytesHint >= WORKER_THRESHOLD_BYTES)) this.codec.startThreads(threads);
    return this.codec;
  }

  // ---- the sequencer: blocks in the order they came, one decision at a time ----

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (this.sequencerRunning) return;
    this.sequencerRunning = true;
    this.sequencing = this.runSequencer();
  }

  private async runSequencer(): Promise<void> {
    try {
      while (this.queue.length) {
        if (this.failure !== undefined) return;
        const job = this.queue[0];
        try {
          if (job.kind === "data") await this.sequenceData(job);
          else {
            job.stats.zeroBlocks++;
            job.map.blocks.set(job.index, { kind: "zero" });
          }
        } catch (e) {
          this.fail(e);
          return;
        }
        this.queue.shift();
      }
    } finally {
      // Cleared in the same turn as the last check of the queue, so enqueue() never misses a run.
      this.sequencerRunning = false;
      if (this.failure !== undefined) this.dropQueue();
    }
  }

  private async sequenceData(job: Extract<Job, { kind: "data" }>): Promise<void> {
    const { stats, slot } = job;
    const codec = this.codec!;
    const prepared = await job.prepared;
    const hex = prepared.contentHash.toString("hex");
    const hit = this.dedupe.get(hex);
    if (hit && hit.plainLength === job.length && (await this.trackKeyOf(hit))) {
      codec.release(slot);
      stats.dedupedBlocks++;
      job.map.blocks.set(job.index, hit);
      return;
    }
    const { config } = this.repo;
    const recordLength = recordLengthOf(prepared.payloadLength);
    const pack = this.pack ?? (await this.openPack());
    const entryIndex = pack.reserve(recordLength, { sessionKeyId: this.sessionKey.id, compressionId: prepared.compressionId, plainLength: job.length });
    const identity = {
      repositoryId: config.repositoryId,
      packId: pack.packId,
      entryIndex,
      sessionKeyId: this.sessionKey.id,
      compressionId: prepared.compressionId,
      plainLength: job.length,
      contentHash: prepared.contentHash,
    };
    const entry: DedupeTarget = { kind: "data", packId: idHex(pack.packId), entryIndex, plainLength: job.length, contentHash: prepared.contentHash };
    this.dedupe.set(hex, entry);
    stats.storedBlocks++;
    stats.bytesStored += recordLength;
    job.map.blocks.set(job.index, entry);
    if (pack.byteLength >= config.packTargetSize) this.closePack();
    const target = { buffer: this.packMemory.get(pack)!.target, offset: pack.bufferOffsetOf(entryIndex) };
    codec.seal(slot, prepared.payloadLength, identity, target).then(
      (sealed) => {
        if (this.failure !== undefined) return;
        pack.fill(entryIndex, sealed.recordHash);
        codec.release(slot);
        this.writeCompletePacks();
      },
      (e: unknown) => this.fail(e),
    );
  }

  private async openPack(): Promise<PackAssembler> {
    const codec = this.codec!;
    const memory = await this.packBuffers.acquire((m) => codec.registerTarget(m));
    if (this.failure !== undefined) {
      this.packBuffers.release(memory);
      throw this.failure;
    }
    const pack = new PackAssembler(this.repo.config.repositoryId, newId(this.repo.random), this.repo.now(), memory.buffer);
    this.packMemory.set(pack, memory);
    this.ownPacks.add(idHex(pack.packId));
    this.pack = pack;
    return pack;
  }

  private closePack(): void {
    const pack = this.pack;
    if (!pack) return;
    this.pack = undefined;
    if (pack.entries.length === 0) {
      this.releasePackMemory(pack);
      return;
    }
    pack.close();
    this.closedPacks.push({ pack, seq: this.packSeq++ });
    this.writeCompletePacks();
  }

  /** Hands complete packs to the store, oldest first (so the order of writes is deterministic). */
  private writeCompletePacks(): void {
    while (this.failure === undefined && this.closedPacks.length && this.closedPacks[0].pack.complete) {
      const { pack, seq } = this.closedPacks.shift()!;
      const put = (async () => {
        try {
          const { chunks, length, whole } = pack.finish();
          const { store } = this.repo;
          if (whole && store.putAligned && this.packMemory.get(pack)?.aligned) await store.putAligned(packFileName(pack.packId), whole);
          else await store.put(packFileName(pack.packId), chunks);
          this.written.push({ packId: pack.packId, packLength: length, entries: pack.entries, seq });
        } finally {
          this.releasePackMemory(pack);
        }
        await this.lock.refresh(this.repo.now());
      })();
      this.puts.add(put);
      put.then(
        () => {
          this.puts.delete(put);
          this.wake();
        },
        (e: unknown) => {
          this.puts.delete(put);
          this.fail(e);
        },
      );
    }
    this.wake();
  }

  private releasePackMemory(pack: PackAssembler): void {
    const memory = this.packMemory.get(pack);
    if (!memory) return;
    this.packMemory.delete(pack);
    this.packBuffers.release(memory);
  }

  private fail(e: unknown): void {
    if (this.failure === undefined) this.failure = e;
    this.codec?.interrupt(this.failure);
    this.packBuffers.interrupt(this.failure);
    this.wake();
  }

  private dropQueue(): void {
    for (const job of this.queue.splice(0)) if (job.kind === "data") job.prepared.catch(() => undefined);
  }

  private wake(): void {
    for (const w of this.wakeups.splice(0)) w();
  }

  private nextWake(): Promise<void> {
    return new Promise((resolve) => this.wakeups.push(resolve));
  }

  /** Every block received so far has its map entry (seals may still be running). */
  private async drainSequencer(): Promise<void> {
    while (this.sequencerRunning) await this.sequencing;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Every pack of the session is in the store. */
  private async writeAllPacks(): Promise<void> {
    await this.drainSequencer();
    this.closePack();
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (!this.closedPacks.length && !this.puts.size) return;
      await this.nextWake();
    }
  }

  /** After a failure: waits for the writes already started, so the store is still when we return. */
  private async quiesce(): Promise<void> {
    while (this.sequencerRunning) await this.sequencing.catch(() => undefined);
    while (this.puts.size) await Promise.allSettled([...this.puts]);
    await this.codec?.close();
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

  /** Writes packs, index and the point file; the point is visible from here on. */
  async commit(): Promise<CommitResult> {
    this.assertOpen();
    const { repo } = this;
    const { repositoryId } = repo.config;
    try {
      await this.writeAllPacks();
      await this.codec?.close();
      const written = [...this.written].sort((a, b) => a.seq - b.seq).map(({ packId, packLength, entries }) => ({ packId, packLength, entries }));
      if (written.length) {
        await repo.store.put(indexFileName(this.sessionId), encodeIndex({ repositoryId, sessionId: this.sessionId, createdAt: repo.now(), packs: written }));
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
      if (this.state !== "committed") {
        this.state = "failed";
        this.fail(e);
        await this.quiesce();
      }
      throw e;
    } finally {
      await this.codec?.close();
      this.metakey.destroy();
      this.sessionKey.destroy();
      this.parent?.close();
    }
  }

  /** Gives up: releases the lock. Packs already written stay unreferenced until retention removes them. */
  async abort(): Promise<void> {
    if (this.state === "committed" || this.state === "aborted") return;
    this.state = "aborted";
    this.fail(new InvalidArgumentError("this backup session was aborted"));
    await this.quiesce();
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
