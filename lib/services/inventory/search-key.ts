import "server-only";

// The VM search column (Vm.searchName) and the search text go through the same key, so a search
// is a plain substring match on both databases: lower-cased (case-insensitive everywhere), and
// with LIKE's special characters mapped to private-use characters, because Prisma's `contains`
// does not escape them (prisma/orm#19506: "%" would match every VM, "_" any character) and
// SQLite's LIKE has no escape character to offer (PostgreSQL's is the backslash).
const SPECIAL: Record<string, string> = { "%": "\uE000", _: "\uE001", "\\": "\uE002" };

export function searchKey(text: string): string {
  return text.toLowerCase().replace(/[%_\\]/g, (c) => SPECIAL[c]);
}
