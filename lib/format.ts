// Display formatting shared by server and client components.
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${UNITS[i]}`;
}

export function formatDateTime(iso: string | null): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

export const TRANSPORT_LABELS: Record<string, string> = {
  san: "Direct storage (SAN)",
  hotadd: "Virtual appliance (HotAdd)",
  nbd: "Network (NBD)",
  nbdssl: "Network with TLS (NBDSSL)",
};
