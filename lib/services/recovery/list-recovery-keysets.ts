import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { db } from "@/lib/db/client";
import type { KeysetPolicy } from "@/lib/schemas/recovery";
import { readKeysetPolicy } from "./keyset-store";

const DAY_MS = 86_400_000;

export interface RecoveryKeysetDto {
  id: string;
  createdAt: string;
  source: "generated" | "imported";
  modulusBits: number;
  /** The console holds the private key (sealed) and can answer recovery with it; else public key only. */
  privateKeyHeld: boolean;
  /** Active keysets wrap every new restore point's keys; retired ones only the points made before. */
  active: boolean;
  retiredAt: string | null;
  lastExportedAt: string | null;
  /** Who exported it last: name and email (a removed user: null). */
  lastExportedBy: { name: string; email: string } | null;
  /** Restore points in the catalogue (not removed by retention) whose keys this keyset also wraps. */
  pointCount: number;
}

export interface RecoveryKeysetsDto {
  keysets: RecoveryKeysetDto[];
  policy: KeysetPolicy;
  /** When the policy will generate the next keyset (enabled policy only), ISO. */
  nextRotationAt: string | null;
}

/** Every keyset, active ones first, newest first within each, with what it protects; never any key material. */
export async function listRecoveryKeysets(actor: Actor): Promise<RecoveryKeysetsDto> {
  authorize(actor, "job:read");
  const [rows, policy] = await Promise.all([
    db.recoveryKeyset.findMany({
      orderBy: { createdAt: "desc" },
      select: { id: true, createdAt: true, source: true, modulusBits: true, privateKeySealed: true, retiredAt: true, lastExportedAt: true, lastExportedById: true },
    }),
    readKeysetPolicy(db),
  ]);
  const exporterIds = [...new Set(rows.map((r) => r.lastExportedById).filter((v): v is string => !!v))];
  const [counts, exporters] = await Promise.all([
    // keyIds is a JSON array of strings: the quotes make "keyset:<id>" match whole entries only.
    Promise.all(rows.map((r) => db.restorePoint.count({ where: { status: { not: "removed" }, keyIds: { contains: `"keyset:${r.id}"` } } }))),
    db.user.findMany({ where: { id: { in: exporterIds } }, select: { id: true, name: true, email: true } }),
  ]);
  const exporter = new Map(exporters.map((u) => [u.id, { name: u.name, email: u.email }]));
  const keysets = rows.map((r, i): RecoveryKeysetDto => ({
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    source: r.source === "imported" ? "imported" : "generated",
    modulusBits: r.modulusBits,
    privateKeyHeld: r.privateKeySealed !== null,
    active: r.retiredAt === null,
    retiredAt: r.retiredAt?.toISOString() ?? null,
    lastExportedAt: r.lastExportedAt?.toISOString() ?? null,
    lastExportedBy: r.lastExportedById ? (exporter.get(r.lastExportedById) ?? null) : null,
    pointCount: counts[i],
  }));
  // Active first (what protects new points), then retired; each newest first (the query's order, kept by the stable sort).
  keysets.sort((a, b) => Number(b.active) - Number(a.active));
  const newestActive = keysets.find((k) => k.active);
  const nextRotationAt = !policy.enabled ? null : newestActive ? new Date(Date.parse(newestActive.createdAt) + policy.rotateDays * DAY_MS).toISOString() : new Date().toISOString();
  return { keysets, policy, nextRotationAt };
}
