// The encrypted, deduplicated backup repository (FORMAT.md beside this file).
export { createRepository, openRepository, Repository, type RepositoryOptions, type CreateRepositoryOptions, type PointSummary, type PointListing, type ChainSummary } from "./repository";
export { BackupSession, type BeginPointOptions, type DiskSource, type DiskBlock, type DiskWriteStats, type CommitResult } from "./backup-session";
export { OpenPoint, type DiskInfo } from "./open-point";
export type { BlockEntry } from "./point-file";
export type { VerifyOptions, VerifyReport, PointReport, DiskReport, DamagedBlock } from "./verify";
export type { RetentionOptions, RetentionReport } from "./retention";
export type { RepositoryStore } from "./store";
export { FilesystemStore } from "./filesystem-store";
export { MemoryStore } from "./memory-store";
export { FaultyStore, SimulatedCrash, type Fault, type FaultRule } from "./faulty-store";
