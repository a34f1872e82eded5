// Prisma CLI configuration for both databases (see docs/decisions/0001-two-databases.md).
// DATABASE_URL's scheme picks the schema, the migration history and the driver adapter; the
// wasm ("js") schema engine is used because the native one cannot be downloaded offline.
import path from "node:path";
import { defineConfig } from "prisma/config";

const url = process.env.DATABASE_URL ?? "file:./.data/strongroom.db";
const postgres = /^postgres(ql)?:\/\//.test(url);
const dir = postgres ? "prisma/postgresql" : "prisma";

export default defineConfig({
  schema: path.join(dir, "schema.prisma"),
  migrations: { path: path.join(dir, "migrations") },
  engine: "js",
  experimental: { adapter: true },
  async adapter() {
    if (postgres) {
      reportCatalogNamesAsText();
      const { PrismaPg } = await import("@prisma/adapter-pg");
      // allowExitOnIdle: idle pool sockets would keep the CLI alive for a minute after it is done.
      return new PrismaPg({ connectionString: url, allowExitOnIdle: true });
    }
    const { PrismaBetterSQLite3 } = await import("@prisma/adapter-better-sqlite3");
    return new PrismaBetterSQLite3({ url });
  },
});

// The wasm schema engine cannot deserialize PostgreSQL's catalog types `name` (OID 19) and
// `"char"` (OID 18) that it meets while migrating (prisma/orm issue 27403). They are plain strings,
// so relabel them as `text` (OID 25) before pg picks parsers. This runs only inside the Prisma CLI
// process; the application never loads this file.
function reportCatalogNamesAsText(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Result = require("pg/lib/result") as { prototype: { addFields(fields: { dataTypeID: number }[]): void } };
  const original = Result.prototype.addFields;
  if ((original as { relabelled?: boolean }).relabelled) return;
  const relabel = function (this: unknown, fields: { dataTypeID: number }[]) {
    for (const f of fields) if (f.dataTypeID === 18 || f.dataTypeID === 19) f.dataTypeID = 25;
    return original.call(this, fields);
  };
  Object.assign(relabel, { relabelled: true });
  Result.prototype.addFields = relabel;
}
