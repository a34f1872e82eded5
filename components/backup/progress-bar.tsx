const TONES = {
  brand: "bg-brand-600",
  good: "bg-emerald-500",
  warn: "bg-amber-500",
  bad: "bg-red-500",
  neutral: "bg-slate-400",
} as const;

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
