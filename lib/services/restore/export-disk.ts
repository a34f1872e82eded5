import "server-only";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { diskIdOf } from "@/lib/engine/pipeline/backup-vm";
import { diskImageChunks } from "@/lib/engine/pipeline/restore-disk";
import { AppError } from "@/lib/errors/app-error";
import { parseInput } from "@/lib/errors/parse-input";
import { recordAuditEvent } from "@/lib/services/audit/record-audit-event";
import { z } from "zod";
import { openRestorePoint } from "./open-restore-point";

// Disk export (RST-7): one disk of a restore point as a raw image, streamed from the repository
// (every block authenticated and hash-checked on the way; a damaged block ends the download with an
// error, never a plausible-looking image). For Backup Administrators and Restore Operators, audited
// with who, which point and which disk — the image is the disk in cleartext.

const input = z.object({ pointId: z.string().trim().min(1).max(64), deviceKey: z.coerce.number().int().min(0).max(1_000_000) });

export interface DiskExport {
  fileName: string;
  size: number;
  chunks: AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

export async function exportRestorePointDisk(actor: Actor, raw: { pointId: string; deviceKey: string | number }, signal?: AbortSignal): Promise<DiskExport> {
  authorize(actor, "restore:run");
  const { pointId, deviceKey } = parseInput(input, raw);
  const opened = await openRestorePoint(pointId, `strongroom/${process.pid}/export`);
  const disk = opened.point.disks.find((d) => d.diskId === diskIdOf(deviceKey));
  if (!disk) {
    await opened.close();
    throw new AppError("NOT_FOUND", `The restore point has no disk ${deviceKey}.`);
  }
  const label = opened.source.vm.disks.find((d) => d.deviceKey === deviceKey)?.label ?? `disk ${deviceKey}`;
  await recordAuditEvent({ actor, action: "restore.export", objectType: "vm", objectId: opened.row.vmExternalId, outcome: "success", details: { point: pointId, disk: label, bytes: disk.capacity, keyIds: opened.row.keyIds.join(", ") } });
  const safe = `${opened.row.vmName}-${label}-${opened.row.createdAt.toISOString().slice(0, 19)}`.replace(/[^A-Za-z0-9._-]+/g, "_");
  return { fileName: `${safe}.img`, size: disk.capacity, chunks: diskImageChunks(opened.point, disk.diskId, { signal }), close: () => opened.close() };
}
