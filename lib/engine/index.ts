// lib/engine: the data path. Pure libraries — no Next.js, Prisma, React or lib/services|db|auth —
// so they run in worker threads, proxy processes, CLIs and benchmarks.
export * from "./errors";
export * as formatRegistry from "./format-registry";
export * from "./keys";
export * from "./repository";
