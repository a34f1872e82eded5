import { formatDateTime } from "@/lib/format";
import type { ComplianceTrendPoint } from "@/lib/compliance/compliance-types";

const BAR = 14;
const GAP = 4;
const HEIGHT = 40;

/**
 * The last runs as stacked bars, oldest left: green = checks passed, red = failed (n/a left out).
 * Plain SVG; each bar's title gives its time and counts.
 */
export function ComplianceTrend({ points }: { points: ComplianceTrendPoint[] }) {
  const max = Math.max(1, ...points.map((p) => p.passCount + p.failCount));
  const width = points.length * (BAR + GAP);
  const last = points[points.length - 1];
  const first = points[0];
  return (
    <div data-testid="compliance-trend">
      <svg width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label={`Last ${points.length} runs: passed and failed checks`} className="block">
        {points.map((p, i) => {
          const pass = (p.passCount / max) * HEIGHT;
          const fail = (p.failCount / max) * HEIGHT;
          const x = i * (BAR + GAP);
          return (
            <g key={p.id} data-testid="trend-bar">
              <title>{`${formatDateTime(p.at)} (${p.trigger}): ${p.passCount} passed, ${p.failCount} failed`}</title>
              <rect x={x} y={HEIGHT - pass - fail} width={BAR} height={fail} className="fill-red-500" rx={1} />
              <rect x={x} y={HEIGHT - pass} width={BAR} height={pass} className="fill-emerald-500" rx={1} />
            </g>
          );
        })}
      </svg>
      <div className="mt-2 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-slate-500">
        <span>
          <span className="mr-1 inline-block h-2 w-2 rounded-sm bg-emerald-500" />
          passed
        </span>
        <span>
          <span className="mr-1 inline-block h-2 w-2 rounded-sm bg-red-500" />
          failed
        </span>
        {first && last && points.length > 1 && (
          <span>
            {formatDateTime(first.at)} → {formatDateTime(last.at)}
          </span>
        )}
      </div>
    </div>
  );
}
