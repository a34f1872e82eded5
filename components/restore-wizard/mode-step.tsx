"use client";
import { Badge } from "@/components/ui/badge";
import type { RestoreOptionsDto } from "@/lib/services/restore/get-restore-options";

// The restore wizard's mode step (RST-1, RST-7): a new location (a new VM; the original is not
// touched), the original location overwritten, a quick rollback of only the blocks that differ,
// or chosen disks attached to an existing VM. In-place modes are offered only while the VM still
// exists on its site with the point's disks; otherwise they say why.

export type RestoreMode = "new-location" | "overwrite" | "quick-rollback" | "disks";

export const IN_PLACE_MODES: readonly RestoreMode[] = ["overwrite", "quick-rollback"];

export function ModeStep({ options, mode, onMode, disksAvailable }: { options: RestoreOptionsDto; mode: RestoreMode; onMode: (m: RestoreMode) => void; disksAvailable: { ok: boolean; why: string | null } }) {
  const inPlace = options.inPlace;
  const vmName = options.point.vmName;
  const rows: Array<{ mode: RestoreMode; title: string; text: string; ok: boolean; why: string | null; tone?: "danger" }> = [
    { mode: "new-location", title: "Restore to a new location, or with different settings", text: "A new VM on the site, host and datastores you choose, with a new name. The original VM is not touched, and backup jobs keep protecting the original.", ok: true, why: null },
    { mode: "overwrite", title: "Restore to the original location (overwrite)", text: `Powers ${vmName} off and writes every block of the chosen disks from the restore point over it. Its settings, keys and encryption stay as they are.`, ok: inPlace.available, why: inPlace.why, tone: "danger" },
    { mode: "quick-rollback", title: "Quick rollback", text: `Powers ${vmName} off and writes back only the blocks that differ from the restore point (found by changed block tracking, or by comparing hashes when it cannot say). For problems inside the guest, such as a bad update; after a storage failure use overwrite.`, ok: inPlace.available, why: inPlace.why, tone: "danger" },
    { mode: "disks", title: "Restore disks to an existing VM", text: "Restores chosen disks of the point and attaches them to a VM that exists now (this VM or another), replacing one of its disks or added as new disks. That VM is powered off first.", ok: disksAvailable.ok, why: disksAvailable.why },
  ];
  return (
    <fieldset className="max-w-2xl space-y-3 text-sm" data-testid="restore-modes">
      <legend className="sr-only">Restore mode</legend>
      {rows.map((r) => (
        <label key={r.mode} className={`flex items-start gap-2 rounded-md border p-3 ${!r.ok ? "border-slate-200 text-slate-500" : mode === r.mode ? "border-brand-200 bg-brand-50/40" : "border-slate-200"}`} data-testid={`mode-${r.mode}-row`} data-available={r.ok ? "yes" : "no"}>
          <input type="radio" name="restore-mode" value={r.mode} checked={mode === r.mode} disabled={!r.ok} onChange={() => onMode(r.mode)} data-testid={`mode-${r.mode}`} />
          <span>
            <strong>{r.title}</strong>
            {r.tone === "danger" && r.ok && (
              <>
                {" "}
                <Badge tone="warn">changes the VM</Badge>
              </>
            )}{" "}
            — {r.text}
            {!r.ok && r.why && (
              <span className="mt-1 block text-xs text-slate-600" data-testid="mode-why">
                Not available: {r.why}
              </span>
            )}
          </span>
        </label>
      ))}
    </fieldset>
  );
}
