"use client";
import { describeSchedule } from "@/lib/backup/schedule";
import type { Schedule } from "@/lib/schemas/backup";

// The schedule step of the job wizards (backup and replication): manually, daily at a time on
// chosen days, or every few hours, with the schedule in words below.

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export function ScheduleEditor({ value, onChange, error }: { value: Schedule; onChange: (s: Schedule) => void; error: React.ReactNode }) {
  return (
    <div className="max-w-xl space-y-3 text-sm">
      <select
        value={value.kind}
        onChange={(e) => {
          const kind = e.target.value as Schedule["kind"];
          onChange(kind === "manual" ? { kind } : kind === "hourly" ? { kind, everyHours: 4 } : { kind, time: "22:00", days: [0, 1, 2, 3, 4, 5, 6] });
        }}
        className="input w-60"
        data-testid="job-schedule-kind"
      >
        <option value="manual">Manually only</option>
        <option value="daily">Daily at a time</option>
        <option value="hourly">Every few hours</option>
      </select>
      {value.kind === "daily" && (
        <>
          <label className="block">
            <span className="mb-1 block font-medium text-slate-700">Time (server time)</span>
            <input type="time" value={value.time} onChange={(e) => onChange({ ...value, time: e.target.value })} className="input w-40" />
          </label>
          <div className="flex flex-wrap gap-2">
            {DAYS.map((d, i) => (
              <label key={d} className="flex items-center gap-1">
                <input type="checkbox" checked={value.days.includes(i)} onChange={() => onChange({ ...value, days: value.days.includes(i) ? value.days.filter((x) => x !== i) : [...value.days, i].sort() })} />
                {d}
              </label>
            ))}
          </div>
        </>
      )}
      {value.kind === "hourly" && (
        <label className="block">
          <span className="mb-1 block font-medium text-slate-700">Every (hours)</span>
          <input type="number" min={1} max={24} value={Number.isNaN(value.everyHours) ? "" : value.everyHours} onChange={(e) => onChange({ ...value, everyHours: e.target.valueAsNumber })} className="input w-24" />
        </label>
      )}
      {error}
      <p className="text-slate-600">{describeSchedule(value)}</p>
    </div>
  );
}
