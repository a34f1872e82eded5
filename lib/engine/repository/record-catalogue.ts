// The in-memory view of every index file: pack id → its length and table. Readers resolve a
// point's (pack, entry) references through it; when a pack is missing from the index (index file
// lost or damaged) the pack's own table is read instead, so a lost index costs time, not data.

import { EngineError, FileDamagedError, NotFoundError } from "../errors";
import { SIZES } from "../format-registry";
import { decodeIndex, type IndexFile } from "./index-file";
import { decodePackTable, packFileName, type PackEntry, type PackTable } from "./pack";
import type { RepositoryStore } from "./store";

export interface CataloguedPack {
  packId: string;
  packLength: number;
  entries: PackEntry[];
  /** The index file that lists it, or "pack table" when read from the pack itself. */
  source: string;
}

export interface CatalogueLoadOptions {
  /** The index/ listing, when the caller has it. */
  files?: string[];
  /** Index files the caller decoded before and knows unchanged, by name. */
  known?: ReadonlyMap<string, IndexFile>;
  /** Hears of every index file read. */
  onDecoded?: (file: string, size: number, index: IndexFile) => void;
}

export class RecordCatalogue {
  readonly packs = new Map<string, CataloguedPack>();
  readonly indexFiles = new Map<string, IndexFile>();
  readonly damagedIndexFiles: Array<{ file: string; error: EngineError }> = [];

  /** Set while the index files are still to be read (deferred): the first lookup reads them. */
  #pending: (() => Promise<void>) | undefined;
  #loading: Promise<void> | undefined;

  private constructor(private readonly store: RepositoryStore) {}

  /**
   * Reads every index file. `files` (the listing, when the caller has it) and `known` (decoded
   * files the caller kept, by name) spare reads; `onDecoded` hears of every file read here.
   */
  static async load(store: RepositoryStore, o: CatalogueLoadOptions = {}): Promise<RecordCatalogue> {
    const c = new RecordCatalogue(store);
    await c.#fill(o);
    return c;
  }

  /**
   * A catalogue that reads the index files at its first lookup, not before (a point opened only for
   * its keys and disks reads none; a first full backup looks nothing up). `options` gives the
   * load's options at that moment (the repository's reused files).
   */
  static deferred(store: RepositoryStore, options?: () => Promise<CatalogueLoadOptions>): RecordCatalogue {
    const c = new RecordCatalogue(store);
    c.#pending = async () => c.#fill(options ? await options() : {});
    return c;
  }

  async #fill(o: CatalogueLoadOptions): Promise<void> {
    for (const file of o.files ?? (await this.store.list("index/"))) {
      try {
        let index = o.known?.get(file);
        if (!index) {
          const data = await this.store.get(file);
          index = decodeIndex(file, data);
          o.onDecoded?.(file, data.length, index);
        }
        this.indexFiles.set(file, index);
        for (const p of index.packs) {
          const packId = p.packId.toString("hex");
          this.packs.set(packId, { packId, packLength: p.packLength, entries: p.entries, source: file });
        }
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        this.damagedIndexFiles.push({ file, error: e });
      }
    }
  }

  /** The pack's table, from the index or else from the pack file. Throws NotFoundError / FileDamagedError. */
  async pack(packId: string): Promise<CataloguedPack> {
    if (this.#pending) {
      const fill = this.#pending;
      this.#pending = undefined;
      this.#loading = fill();
    }
    if (this.#loading) await this.#loading;
    const known = this.packs.get(packId);
    if (known) return known;
    const table = await readPackTable(this.store, packId);
    const entry: CataloguedPack = { packId, packLength: table.length, entries: table.table.entries, source: "pack table" };
    this.packs.set(packId, entry);
    return entry;
  }

  async entry(packId: string, entryIndex: number): Promise<PackEntry> {
    const p = await this.pack(packId);
    const e = p.entries[entryIndex];
    if (!e) throw new FileDamagedError(packFileName(packId), "inconsistent", `no entry ${entryIndex}`);
    return e;
  }
}

/** Reads just a pack's header and table (two range reads), not its records. */
export async function readPackTable(store: RepositoryStore, packId: string): Promise<{ table: PackTable; length: number }> {
  const file = packFileName(packId);
  const length = await store.size(file);
  if (length === undefined) throw new NotFoundError(file);
  if (length < SIZES.packHeader + 4 + SIZES.packFooter) throw new FileDamagedError(file, "truncated");
  const header = await store.getRange(file, 0, SIZES.packHeader);
  const footer = await store.getRange(file, length - SIZES.packFooter, SIZES.packFooter);
  const tableOffset = footer.readUInt32BE(0);
  if (tableOffset < SIZES.packHeader || tableOffset > length - SIZES.packFooter) throw new FileDamagedError(file, "truncated", "no valid pack footer");
  const tail = await store.getRange(file, tableOffset, length - tableOffset);
  return { table: decodePackTable(file, header, tail, length), length };
}
