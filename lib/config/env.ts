import "server-only";
import net from "node:net";
import path from "node:path";
import { z } from "zod";

// The one module that reads process.env (ARCHITECTURE.md). Everything else imports `env`.
const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  STRONGROOM_DATA_DIR: z.string().min(1).default(".data"),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, "DATABASE_URL must start with file: (SQLite) or postgresql://")
    .optional(),
  // next-auth's signing secret; when absent one is generated once into the data folder.
  NEXTAUTH_SECRET: z.string().min(32, "NEXTAUTH_SECRET must be at least 32 characters").optional(),
  // First-start administrator; when the password is absent one is generated and printed once.
  STRONGROOM_ADMIN_EMAIL: z.string().email().default("admin@strongroom.local"),
  STRONGROOM_ADMIN_PASSWORD: z.string().min(12, "STRONGROOM_ADMIN_PASSWORD must be at least 12 characters").optional(),
  // Key that seals stored KMS certificates and keys (base64 of 32 bytes); generated into the data folder when absent.
  STRONGROOM_CONFIG_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "STRONGROOM_CONFIG_KEY must be 32 bytes, base64-encoded")
    .optional(),
  // How often the console checks that every registered KMS cluster answers.
  STRONGROOM_KMS_CHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  // Lab scale: how many VMs the simulated vSphere holds (seed option; the benchmark uses 10000).
  STRONGROOM_LAB_VMS: z.coerce.number().int().min(1).max(50_000).default(36),
  // Data each lab disk receives when its guest first writes (MiB); bigger for benchmarks.
  STRONGROOM_LAB_DISK_DATA_MIB: z.coerce.number().int().min(1).max(65_536).default(16),
  STRONGROOM_LAB_SEED: z.coerce.number().int().default(20261122),
  // The folder the simulated vSphere keeps its VMs in; <data folder>/lab by default. Two consoles
  // given the same lab folder see the same vSphere (a console rebuilt after losing its database).
  STRONGROOM_LAB_DIR: z.string().min(1).optional(),
  // A simulated link speed for the lab's backup reads (MiB/s per disk being read): demos, and the
  // job engine's tests, which need a VM that is still being read when a worker dies or a stop comes.
  // Unset: as fast as the lab's files.
  STRONGROOM_LAB_READ_MIB_PER_SECOND: z.coerce.number().positive().max(100_000).optional(),
  // The same for the lab's restore writes (MiB/s per disk being written): a restore that is still
  // writing when its worker is killed (lib/services/restore/restore-kill.db.test.ts). Unset: as fast as the files.
  STRONGROOM_LAB_WRITE_MIB_PER_SECOND: z.coerce.number().positive().max(100_000).optional(),
  // Job engine (lib/jobs). Whether the console itself runs work on PostgreSQL ("on"), or leaves it
  // to worker processes (`npm run worker`, "off"); on SQLite the console always runs it.
  STRONGROOM_CONSOLE_WORKER: z.enum(["on", "off"]).default("on"),
  // VMs one process backs up at once (each still bounded by its proxy's task limit).
  STRONGROOM_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  // Seconds without a heartbeat after which a worker's job is given to another (pg-boss: ≥ 10).
  STRONGROOM_JOB_HEARTBEAT_SECONDS: z.coerce.number().int().min(10).max(600).default(10),
  // PostgreSQL connections, per process (the console and each `npm run worker`): the application's
  // pool (Prisma) and the job queue's (pg-boss). With STRONGROOM_WORKER_PROCESSES, the number of
  // worker processes planned besides the console, the console checks at start that all of them
  // fit the server's max_connections with headroom, and says clearly when they do not.
  STRONGROOM_DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(5),
  STRONGROOM_QUEUE_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(4),
  STRONGROOM_WORKER_PROCESSES: z.coerce.number().int().min(0).max(1000).default(4),
  // The time zone backup schedules are read in ("daily at 22:00"); the server's own by default.
  STRONGROOM_TIME_ZONE: z
    .string()
    .min(1)
    .max(64)
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, "STRONGROOM_TIME_ZONE must be an IANA time zone such as Europe/Amsterdam")
    .optional(),
  // The console's public address; https here makes the session cookie Secure.
  NEXTAUTH_URL: z.string().url("NEXTAUTH_URL must be a URL such as https://strongroom.example.com").optional(),
  // Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto / X-Forwarded-Host are believed:
  // addresses or CIDRs, comma-separated. Empty (the default): the socket's address is the client.
  STRONGROOM_TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .refine((list) => list.every(isAddressOrCidr), "STRONGROOM_TRUSTED_PROXIES must be IP addresses or CIDRs (10.0.0.0/8, ::1), comma-separated"),
});

function isAddressOrCidr(entry: string): boolean {
  const [addr, prefix, extra] = entry.split("/");
  const family = net.isIP(addr);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const n = Number(prefix);
  return /^\d+$/.test(prefix) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

const parsed = schema.safeParse(process.env);
if (!parsed.success) {
  // Fail fast at start-up with the field that is wrong; never echo values (they may be secrets).
  const fields = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new Error(`Invalid environment: ${fields}`);
}

const dataDir = path.resolve(parsed.data.STRONGROOM_DATA_DIR);

export const env = {
  ...parsed.data,
  dataDir,
  databaseUrl: parsed.data.DATABASE_URL ?? `file:${path.join(dataDir, "strongroom.db")}`,
  labDir: parsed.data.STRONGROOM_LAB_DIR ? path.resolve(parsed.data.STRONGROOM_LAB_DIR) : path.join(dataDir, "lab"),
};
