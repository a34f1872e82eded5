// Typed errors of the engine. Services map them to AppError at their edge; the engine itself does
// not import lib/errors so that it runs anywhere (worker, CLI, benchmark).
//
// Messages name files, ids and reasons, never key material or passwords (SEC-6): constructors
// take only ids and enums, so a secret cannot slip into a message by string interpolation.

export type EngineErrorCode =
  | "INVALID_ARGUMENT"
  | "WRONG_KEY"
  | "KEYS_UNAVAILABLE"
  | "KMS_UNAVAILABLE"
  | "FILE_DAMAGED"
  | "BLOCK_DAMAGED"
  | "UNSUPPORTED_FORMAT"
  | "NOT_FOUND"
  | "IMMUTABLE"
  | "LOCKED"
  | "NONCE_EXHAUSTED"
  | "STORE_IO";

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends EngineError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/** The supplied key (password, private key, KMS key) is not the one that wrapped this key. */
export class WrongKeyError extends EngineError {
  constructor(readonly keyRef: string) {
    super("WRONG_KEY", `the key supplied for ${keyRef} does not match (wrong password or key)`);
  }
}

/** No key in the key ring opens this. `needed` lists the key ids that would (KEY-9). */
export class KeysUnavailableError extends EngineError {
  constructor(
    readonly what: string,
    readonly needed: string[],
  ) {
    super("KEYS_UNAVAILABLE", `cannot open ${what}: supply one of ${needed.join(", ") || "(no key recorded)"}`);
  }
}

export class KmsUnavailableError extends EngineError {
  constructor(readonly kmsId: string, reason: string) {
    super("KMS_UNAVAILABLE", `key provider ${kmsId} is unavailable: ${reason}`);
  }
}

export type DamageReason =
  | "missing-file"
  | "truncated"
  | "checksum"
  | "record-hash"
  | "authentication"
  | "content-hash"
  | "decompression"
  | "missing-index"
  | "missing-session-key"
  | "inconsistent";

/** A repository file is unreadable as a whole (bit rot, truncation, tampering). */
export class FileDamagedError extends EngineError {
  constructor(
    readonly file: string,
    readonly reason: DamageReason,
    detail?: string,
  ) {
    super("FILE_DAMAGED", `${file} is damaged (${reason}${detail ? `: ${detail}` : ""})`);
  }
}

/** One block of one disk of one point failed its checks. */
export class BlockDamagedError extends EngineError {
  constructor(
    readonly pointId: string,
    readonly diskId: string,
    readonly blockIndex: number,
    readonly reason: DamageReason,
    readonly packId?: string,
  ) {
    super(
      "BLOCK_DAMAGED",
      `block ${blockIndex} of disk ${diskId} in restore point ${pointId} is damaged (${reason}${packId ? `, pack ${packId}` : ""})`,
    );
  }
}

export class UnsupportedFormatError extends EngineError {
  constructor(file: string, detail: string) {
    super("UNSUPPORTED_FORMAT", `${file}: ${detail}; a newer Strongroom may be needed`);
  }
}

export class NotFoundError extends EngineError {
  constructor(readonly what: string) {
    super("NOT_FOUND", `${what} does not exist`);
  }
}

/** Deletion refused: the immutability period has not ended (BKP-8). */
export class ImmutabilityError extends EngineError {
  constructor(
    readonly pointIds: string[],
    readonly immutableUntil: Date,
  ) {
    super(
      "IMMUTABLE",
      `restore point${pointIds.length > 1 ? "s" : ""} ${pointIds.join(", ")} cannot be deleted before ${immutableUntil.toISOString()} (immutability period)`,
    );
  }
}

export class RepositoryLockedError extends EngineError {
  constructor(readonly holders: string[]) {
    super("LOCKED", `the repository is locked by ${holders.join(", ")}; retry when that work has finished`);
  }
}

export class NonceExhaustedError extends EngineError {
  constructor() {
    super("NONCE_EXHAUSTED", "this session key reached its encryption limit; start a new session");
  }
}

/** A store operation failed (I/O error, disk full). `errno` keeps the OS code (ENOSPC, EIO…). */
export class StoreIoError extends EngineError {
  constructor(
    readonly operation: string,
    readonly file: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super("STORE_IO", `${operation} ${file} failed${errno ? ` (${errno})` : ""}`, options);
  }
}

/**
 * The repository's disk is full (ENOSPC): the write needed `neededBytes` and the filesystem had
 * `availableBytes` left for it (undefined when it could not be asked).
 */
export class RepositoryFullError extends StoreIoError {
  constructor(
    operation: string,
    file: string,
    readonly neededBytes: number,
    readonly availableBytes: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(operation, file, "ENOSPC", options);
    this.message = `the repository's disk is full: writing ${file} needs ${mib(neededBytes)}${availableBytes === undefined ? "" : ` and ${mib(availableBytes)} are free`}. Free space on that disk or move the repository to a larger one, then run the job again`;
  }
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${n} bytes`;
}
