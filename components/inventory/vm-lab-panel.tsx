"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useActionState, useEffect, useState } from "react";
import { ActionMessage } from "@/components/users/form-bits";
import { Badge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatBytes } from "@/lib/format";
import type { VmRuntime } from "@/lib/platform/connector";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;

export interface LabPanelProps {
  vmId: string;
  encrypted: boolean;
  vtpm: boolean;
  canOperate: boolean;
  keyProviders: { id: string; name: string }[];
  actions: { power: Action; guestWrites: Action; encryption: Action };
}

/** The VM as the (simulated) host sees it now, and the lab operations on it. */
export function VmLabPanel({ vmId, encrypted, vtpm, canOperate, keyProviders, actions }: LabPanelProps) {
  const qc = useQueryClient();
  const runtime = useQuery({
    queryKey: ["vm-runtime", vmId],
    refetchInterval: 10_000,
    queryFn: async (): Promise<VmRuntime> => {
      const res = await fetch(`/api/vms/${vmId}/runtime`);
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
      return body;
    },
  });
  const [powerState, powerAction, powering] = useActionState(actions.power, null);
  const [writeState, writeAction, writing] = useActionState(actions.guestWrites, null);
  const [encState, encAction, changing] = useActionState(actions.encryption, null);
  const [percent, setPercent] = useState("5");
  const latest = [powerState, writeState, encState].reduce<ActionState>((a, b) => (b && (!a || b.at > a.at) ? b : a), null);
  useEffect(() => {
    if (latest?.ok) void qc.invalidateQueries({ queryKey: ["vm-runtime", vmId] });
  }, [latest, qc, vmId]);

  const r = runtime.data;
  const on = r?.powerState === "poweredOn";
  const busy = powering || writing || changing;
  return (
    <div className="space-y-3" data-testid="vm-lab-panel">
      <p className="text-xs text-amber-800">Lab operations act on the simulated vSphere's own disk files.</p>
      {runtime.isError && <ErrorNotice title="The host did not answer">{runtime.error.message}</ErrorNotice>}
      {r && (
        <div className="text-sm">
          <div className="flex flex-wrap items-center gap-2">
            <span data-testid="vm-power-state">{on ? <Badge tone="good">Powered on</Badge> : <Badge>{r.powerState === "suspended" ? "Suspended" : "Powered off"}</Badge>}</span>
            {!r.hasFiles && <span className="text-xs text-slate-500">Disk files are created on first use.</span>}
          </div>
          <table className="mt-2 w-full text-xs" data-testid="vm-disk-runtime">
            <thead>
              <tr className="text-left text-slate-500"><th className="font-medium">Disk</th><th className="font-medium">Written</th><th className="font-medium">CBT change id</th></tr>
            </thead>
            <tbody>
              {r.disks.map((d) => (
                <tr key={d.deviceKey}>
                  <td>{d.deviceKey}{d.encrypted && " (encrypted)"}</td>
                  <td>{formatBytes(d.allocatedBytes)} of {formatBytes(d.capacityBytes)}</td>
                  <td className="font-mono">{d.changeId ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canOperate && (
        <div className="space-y-2 border-t border-slate-100 pt-3">
          <form action={powerAction} className="inline-block">
            <input type="hidden" name="vmId" value={vmId} />
            <input type="hidden" name="action" value={on ? "off" : "on"} />
            <button disabled={busy || !r} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-50" data-testid="vm-power-toggle">
              {powering ? "Working…" : on ? "Power off" : "Power on"}
            </button>
          </form>
          <form action={writeAction} className="flex items-center gap-2">
            <input type="hidden" name="vmId" value={vmId} />
            <label className="text-xs text-slate-600">
              Guest rewrites
              <input name="percent" value={percent} onChange={(e) => setPercent(e.target.value)} inputMode="decimal" className="mx-1 w-14 rounded-md border border-slate-300 px-1 py-0.5 text-xs" data-testid="guest-writes-percent" />% of its blocks
            </label>
            <button disabled={busy || !on} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-50" data-testid="guest-writes-run">{writing ? "Writing…" : "Write"}</button>
            {!on && <span className="text-xs text-slate-500">The guest writes only while the VM is powered on.</span>}
          </form>
          <form action={encAction} className="flex flex-wrap items-center gap-2">
            <input type="hidden" name="vmId" value={vmId} />
            {encrypted ? (
              <>
                <select name="keyProviderId" className="rounded-md border border-slate-300 px-1 py-0.5 text-xs" aria-label="New key provider">
                  <option value="">Re-key to…</option>
                  {keyProviders.map((k) => <option key={k.id} value={k.id}>{k.name}</option>)}
                </select>
                <button name="action" value="rekey" disabled={busy || on} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-50">Re-key</button>
                <button name="action" value="decrypt" disabled={busy || on || vtpm} title={vtpm ? "A VM with a vTPM cannot be decrypted" : undefined} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-50">Decrypt</button>
              </>
            ) : (
              <>
                <select name="keyProviderId" className="rounded-md border border-slate-300 px-1 py-0.5 text-xs" aria-label="Key provider" data-testid="encrypt-key-provider">
                  <option value="">Encrypt with…</option>
                  {keyProviders.map((k) => <option key={k.id} value={k.id}>{k.name}</option>)}
                </select>
                <button name="action" value="encrypt" disabled={busy || on} className="rounded-md border border-slate-300 px-2 py-1 text-xs disabled:opacity-50" data-testid="encrypt-vm">Encrypt</button>
              </>
            )}
            {on && <span className="text-xs text-slate-500">Power the VM off to change its encryption.</span>}
          </form>
        </div>
      )}
      <ActionMessage state={latest} />
    </div>
  );
}
