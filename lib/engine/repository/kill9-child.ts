// The process kill9.int.test.ts kills: one full backup of a raw image into a filesystem
// repository, through the real pipeline (FileDiskReader → backupDisk → BackupSession with worker
// threads → FilesystemStore). It announces on stdout what it has done ("begun", "read <bytes>",
// "put <file>" after each durable write, "committing", "committed <pointId>") so that the test can
// pick the moment of its SIGKILL. Not a library: run as
//   node --import tsx kill9-child.ts <repoDir> <image> <chainId> <keyHeaderHex> <password> <delayMs>

import type { DiskReader } from "../../platform/disk-io";
import { decodeKeyHeader } from "../keys/key-header";
import { derivePasswordKey, type PasswordKeyHeader } from "../keys/user-key";
import { backupDisk } from "../pipeline/backup-disk";
import { FileDiskReader } from "../pipeline/file-disk-reader";
import { FilesystemStore } from "./filesystem-store";
import { openRepository } from "./repository";

const say = (line: string) => process.stdout.write(`${line}\n`);

class AnnouncingStore extends FilesystemStore {
  async put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    await super.put(name, data);
    say(`put ${name}`);
  }
  async putAligned(name: string, data: Buffer): Promise<void> {
    await super.putAligned(name, data);
    say(`put ${name}`);
  }
}

/** Slows reads down a little so that a kill can land in the middle of the disk. */
function throttled(inner: DiskReader, delayMs: number): DiskReader {
  return {
    capacityBytes: inner.capacityBytes,
    read: (offset, length) => inner.read(offset, length),
    async readInto(offset, target) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      await inner.readInto(offset, target);
    },
    close: () => inner.close(),
  };
}

async function main(): Promise<void> {
  const [repoDir, image, chainId, keyHeaderHex, password, delay] = process.argv.slice(2);
  const header = decodeKeyHeader(Buffer.from(keyHeaderHex, "hex"), "argument") as PasswordKeyHeader;
  const key = await derivePasswordKey(password, header);
  const repo = await openRepository(new AnnouncingStore(repoDir), { owner: `kill9-child/${process.pid}` });
  const reader = throttled(await FileDiskReader.open(image), Number(delay));
  const session = await repo.beginPoint({ chainId, protection: { password: key }, workers: "on", workerThreads: 2 });
  say("begun");
  await backupDisk({
    session,
    diskId: "scsi0:0",
    reader,
    blockSize: repo.config.blockSize,
    plan: { kind: "full", areas: "all" },
    onProgress: (p) => say(`read ${p.bytesRead}`),
    progressIntervalMs: 0,
  });
  say("committing");
  const committed = await session.commit();
  await reader.close();
  say(`committed ${committed.pointId}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
