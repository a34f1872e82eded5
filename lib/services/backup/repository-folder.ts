import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { AppError } from "@/lib/errors/app-error";
import { isSystemFolder } from "@/lib/schemas/backup";

/**
 * The one canonical form of a repository folder, so `dir/`, `//dir`, `/a/./dir` and a symlink to
 * `dir` are the same folder: the real path of its deepest existing ancestor (symlinks resolved)
 * with the rest appended. Refuses what cannot be a repository: a folder under /proc, /sys or /dev
 * (also when reached through a symlink), something that is not a folder, or a path whose deepest
 * existing part is a file. The input is already absolute and free of control characters
 * (createRepositorySchema).
 */
export async function canonicalRepositoryFolder(folder: string): Promise<string> {
  const lexical = path.resolve(folder);
  let existing = lexical;
  const rest: string[] = [];
  for (;;) {
    try {
      existing = await fs.realpath(existing);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" || existing === "/") throw unusable(folder, code === "EACCES" ? "permission denied" : "it cannot be read");
      rest.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
  const canonical = path.join(existing, ...rest);
  if (isSystemFolder(canonical)) throw unusable(folder, `it is inside /${canonical.split("/")[1]}, a system folder, not storage`);
  const stat = await fs.stat(existing);
  if (!stat.isDirectory()) throw unusable(folder, rest.length ? "a part of the path is a file" : "it is a file, not a folder");
  return canonical;
}

function unusable(folder: string, why: string): AppError {
  return new AppError("INVALID_INPUT", `The folder ${folder} cannot be used: ${why}. Choose a folder the Strongroom server can write.`, {
    path: [`Cannot use this folder: ${why}`],
  });
}
