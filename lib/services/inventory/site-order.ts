import "server-only";

// Production sites first, then DR, then by name. Sorted in code: enums order differently on
// SQLite (alphabetical text) and PostgreSQL (declaration order).
export function bySiteOrder<T>(siteOf: (x: T) => { role: string; name: string }) {
  return (a: T, b: T): number => {
    const sa = siteOf(a);
    const sb = siteOf(b);
    return (sa.role === "DR" ? 1 : 0) - (sb.role === "DR" ? 1 : 0) || sa.name.localeCompare(sb.name);
  };
}
