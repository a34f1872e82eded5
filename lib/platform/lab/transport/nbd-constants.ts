// Numbers of the NBD protocol (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md),
// named as the specification names them so a reader can check each against it. Only what the lab's
// data path uses (reads for backup, writes for restore) is here, plus the values a peer may legally
// send us (so that we can answer them properly instead of treating them as garbage).

/** "NBDMAGIC": first 8 bytes the server sends. */
export const NBDMAGIC = 0x4e42444d41474943n;
/** "IHAVEOPT": second server magic, and the prefix of every client option. */
export const IHAVEOPT = 0x49484156454f5054n;
/** Prefix of every option reply (fixed newstyle). */
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
/** Never negotiated here; recognised only to report it clearly if a server sends one anyway. */
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flags (server → client, 16 bits). */
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;

/** Client flags (32 bits). Any other bit set means the server must drop the connection. */
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;
export const KNOWN_CLIENT_FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

/** Transmission flags (16 bits), sent with the export size. */
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
export const NBD_FLAG_READ_ONLY = 1 << 1;
export const NBD_FLAG_SEND_FLUSH = 1 << 2;
export const NBD_FLAG_SEND_FUA = 1 << 3;
export const NBD_FLAG_ROTATIONAL = 1 << 4;
export const NBD_FLAG_SEND_TRIM = 1 << 5;
export const NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
export const NBD_FLAG_CAN_MULTI_CONN = 1 << 8;

/** Option types. */
export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_STARTTLS = 5;
export const NBD_OPT_INFO = 6;
export const NBD_OPT_GO = 7;
export const NBD_OPT_STRUCTURED_REPLY = 8;

/** Option reply types; errors have bit 31 set. */
export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
export const NBD_REP_FLAG_ERROR = 0x80000000;
export const NBD_REP_ERR_UNSUP = 0x80000001;
export const NBD_REP_ERR_POLICY = 0x80000002;
export const NBD_REP_ERR_INVALID = 0x80000003;
export const NBD_REP_ERR_PLATFORM = 0x80000004;
export const NBD_REP_ERR_TLS_REQD = 0x80000005;
export const NBD_REP_ERR_UNKNOWN = 0x80000006;
export const NBD_REP_ERR_SHUTDOWN = 0x80000007;
export const NBD_REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
export const NBD_REP_ERR_TOO_BIG = 0x80000009;

/** Information types (NBD_OPT_INFO / NBD_OPT_GO requests and NBD_REP_INFO replies). */
export const NBD_INFO_EXPORT = 0;
export const NBD_INFO_NAME = 1;
export const NBD_INFO_DESCRIPTION = 2;
export const NBD_INFO_BLOCK_SIZE = 3;

/** Request types. */
export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;
export const NBD_CMD_FLUSH = 3;
export const NBD_CMD_TRIM = 4;
export const NBD_CMD_CACHE = 5;
export const NBD_CMD_WRITE_ZEROES = 6;
export const NBD_CMD_BLOCK_STATUS = 7;

/** Command flags (16 bits, per request). */
export const NBD_CMD_FLAG_FUA = 1 << 0;
export const NBD_CMD_FLAG_NO_HOLE = 1 << 1;

/** Error values of replies: the protocol fixes these numbers whatever the host OS uses. */
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_ENOMEM = 12;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ENOTSUP = 95;
export const NBD_ESHUTDOWN = 108;

/** Protocol ceiling for strings (export names, error messages). */
export const NBD_MAX_STRING_LENGTH = 4096;

/** The 124 reserved zero bytes after NBD_OPT_EXPORT_NAME's reply unless NO_ZEROES was agreed. */
export const EXPORT_NAME_ZEROES = 124;

const ERRNO_NAMES: Record<number, string> = {
  [NBD_EPERM]: "EPERM",
  [NBD_EIO]: "EIO",
  [NBD_ENOMEM]: "ENOMEM",
  [NBD_EINVAL]: "EINVAL",
  [NBD_ENOSPC]: "ENOSPC",
  [NBD_EOVERFLOW]: "EOVERFLOW",
  [NBD_ENOTSUP]: "ENOTSUP",
  [NBD_ESHUTDOWN]: "ESHUTDOWN",
};

const REPLY_NAMES: Record<number, string> = {
  [NBD_REP_ACK]: "NBD_REP_ACK",
  [NBD_REP_SERVER]: "NBD_REP_SERVER",
  [NBD_REP_INFO]: "NBD_REP_INFO",
  [NBD_REP_ERR_UNSUP]: "NBD_REP_ERR_UNSUP",
  [NBD_REP_ERR_POLICY]: "NBD_REP_ERR_POLICY",
  [NBD_REP_ERR_INVALID]: "NBD_REP_ERR_INVALID",
  [NBD_REP_ERR_PLATFORM]: "NBD_REP_ERR_PLATFORM",
  [NBD_REP_ERR_TLS_REQD]: "NBD_REP_ERR_TLS_REQD",
  [NBD_REP_ERR_UNKNOWN]: "NBD_REP_ERR_UNKNOWN",
  [NBD_REP_ERR_SHUTDOWN]: "NBD_REP_ERR_SHUTDOWN",
  [NBD_REP_ERR_BLOCK_SIZE_REQD]: "NBD_REP_ERR_BLOCK_SIZE_REQD",
  [NBD_REP_ERR_TOO_BIG]: "NBD_REP_ERR_TOO_BIG",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

export function replyTypeName(type: number): string {
  return REPLY_NAMES[type] ?? `reply 0x${type.toString(16)}`;
}

export function isErrorReply(type: number): boolean {
  return (type & NBD_REP_FLAG_ERROR) !== 0;
}
