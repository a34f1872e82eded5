// Helpers for scripts/bench-inventory.ts: timed requests, round-robin schedules, percentiles, a table.
import { performance } from "node:perf_hooks";

export interface Route {
  label: string;
  path: string;
}

/** One GET, timed to the last byte of the body (a page is only "served" once all of it arrived). */
export async function timedGet(base: string, route: Route, cookie: string): Promise<number> {
  const start = performance.now();
  // redirect: "manual" so a lost session shows up as a 307 to /sign-in, not as a fast 200 sign-in page.
  const res = await fetch(base + route.path, { headers: { cookie }, redirect: "manual" });
  await res.arrayBuffer();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`${route.path} returned HTTP ${res.status} (expected 200)`);
  return ms;
}

/**
 * `rounds` requests per route, interleaved: round i starts at route i % n, so a noisy second hits
 * every route alike and no route always runs right after the same neighbour.
 */
export function roundRobin(routes: Route[], rounds: number): Route[] {
  const order: Route[] = [];
  for (let i = 0; i < rounds; i++) for (let j = 0; j < routes.length; j++) order.push(routes[(i + j) % routes.length]);
  return order;
}

/** Runs the schedule with `inFlight` requests at a time (1 = strictly sequential); samples per route. */
export async function run(base: string, cookie: string, schedule: Route[], inFlight: number): Promise<Map<Route, number[]>> {
  const samples = new Map<Route, number[]>();
  let next = 0;
  const worker = async () => {
    while (next < schedule.length) {
      const route = schedule[next++];
      const ms = await timedGet(base, route, cookie);
      if (!samples.has(route)) samples.set(route, []);
      samples.get(route)!.push(ms);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return samples;
}

/** Nearest-rank percentile (p in 0..100): always an observed value, no interpolation. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Route, n, median, p95 and median / baseline median, one row per route. */
export function table(title: string, routes: Route[], samples: Map<Route, number[]>, baseline: Route): string {
  const baseMedian = percentile(samples.get(baseline) ?? [], 50);
  const rows = routes.map((r) => {
    const s = samples.get(r) ?? [];
    const median = percentile(s, 50);
    return [r.label, String(s.length), median.toFixed(1), percentile(s, 95).toFixed(1), `${(median / baseMedian).toFixed(1)}x`];
  });
  const head = ["route", "n", "median ms", "p95 ms", "vs health"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [title, line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * Rows of cells as aligned columns (bench:backup's layout): the first column left-aligned, the
 * others right-aligned, a dashed rule under the first row; each line starts with `indent`.
 */
export function columns(rows: string[][], indent = "  "): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const lines: string[] = [];
  for (const [i, r] of rows.entries()) {
    lines.push(indent + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd());
    if (i === 0) lines.push(indent + widths.map((w) => "-".repeat(w)).join("  "));
  }
  return lines.join("\n");
}
