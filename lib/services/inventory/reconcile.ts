import "server-only";
import { randomUUID } from "node:crypto";

// Reconciles one table with what the platform reports: rows are matched by a key (site + external
// id); new rows are created in batches, changed rows updated one by one, vanished rows deleted.
// Fast on first sync (createMany) and cheap on a re-sync where little changed.

type Data = Record<string, unknown>;

export interface ReconcileTable<Row extends { id: string }> {
  existing: Row[];
  keyOfRow: (row: Row) => string;
  desired: { key: string; data: Data }[];
  createMany: (rows: (Data & { id: string })[]) => Promise<unknown>;
  update: (id: string, data: Data) => Promise<unknown>;
  deleteMany: (ids: string[]) => Promise<unknown>;
}

export interface ReconcileResult {
  /** key → database id, for the tables that reference this one. */
  ids: Map<string, string>;
  created: number;
  updated: number;
  deleted: number;
}

const BATCH = 500;

export async function reconcile<Row extends { id: string }>(t: ReconcileTable<Row>): Promise<ReconcileResult> {
  const byKey = new Map(t.existing.map((r) => [t.keyOfRow(r), r]));
  const ids = new Map<string, string>();
  const toCreate: (Data & { id: string })[] = [];
  let updated = 0;
  for (const { key, data } of t.desired) {
    const row = byKey.get(key);
    if (!row) {
      const id = randomUUID();
      ids.set(key, id);
      toCreate.push({ id, ...data });
      continue;
    }
    ids.set(key, row.id);
    byKey.delete(key);
    if (differs(row as unknown as Data, data)) {
      await t.update(row.id, data);
      updated++;
    }
  }
  for (let i = 0; i < toCreate.length; i += BATCH) await t.createMany(toCreate.slice(i, i + BATCH));
  const vanished = [...byKey.values()].map((r) => r.id);
  for (let i = 0; i < vanished.length; i += BATCH) await t.deleteMany(vanished.slice(i, i + BATCH));
  return { ids, created: toCreate.length, updated, deleted: vanished.length };
}

function differs(row: Data, data: Data): boolean {
  return Object.entries(data).some(([k, v]) => String(row[k]) !== String(v));
}
