const TONES = {
  brand: "bg-brand-600",
  good: "bg-emerald-500",
  warn: "bg-amber-500",
  bad: "bg-red-500",
  neutral: "bg-slate-400",
} as const;

/** One bar split by outcome (e.g. VMs succeeded / warning / failed / not run), for an ended session. */
export function SegmentedBar({ segments, label }: { segments: { value: number; tone: keyof typeof TONES; title: string }[]; label?: string }) {
  const total = segments.reduce((n, s) => n + s.value, 0);
  return (
    <div className="flex h-2.5 w-full gap-0.5 overflow-hidden rounded-full bg-slate-200" role="img" aria-label={label}>
      {total > 0 &&
        segments.filter((s) => s.value > 0).map((s, i) => (
          <div key={i} title={s.title} className={`h-full ${TONES[s.tone]}`} style={{ width: `${(s.value / total) * 100}%` }} />
        ))}
    </div>
  );
}

export function ProgressBar({ value, tone = "brand", size = "md", label }: { value: number; tone?: keyof typeof TONES; size?: "sm" | "md"; label?: string }) {
  const v = Math.max(0, Math.min(100, value));
  return (
    <div
      className={`w-full overflow-hidden rounded-full bg-slate-200 ${size === "sm" ? "h-1.5" : "h-2.5"}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(v)}
      aria-label={label}
    >
      <div className={`h-full rounded-full transition-[width] duration-700 ease-out ${TONES[tone]}`} style={{ width: `${v}%` }} />
    </div>
  );
}
