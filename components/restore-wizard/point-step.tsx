"use client";
import Link from "next/link";
import { KeyIds } from "@/components/backup/badges";
import { Badge, EncryptionBadge } from "@/components/ui/badge";
import { ErrorNotice } from "@/components/ui/states";
import { formatBytes, formatDateTime } from "@/lib/format";
import type { RestoreOptionsDto } from "@/lib/services/restore/get-restore-options";
import type { RestorablePointDto } from "@/lib/services/restore/list-restorable-vms";
import { Field } from "./wizard-parts";

// The restore wizard's first step, shared by every mode: the point (latest by default), its key
// ids and whether the console holds them now (KEY-7), the VM as backed up and as it is now.

export function PointStep({ options, points, onPick }: { options: RestoreOptionsDto; points: RestorablePointDto[]; onPick: (id: string) => void }) {
  const p = options.point;
  const vm = p.vm;
  return (
    <div className="space-y-4 text-sm">
      <Field label={`Restore point of ${p.vmName}`} hint="The newest point is chosen by default. The console opens each point to check it holds its keys.">
        <select value={p.id} onChange={(e) => onPick(e.target.value)} className="input max-w-2xl" data-testid="restore-point-select">
          {points.map((x, i) => (
            <option key={x.id} value={x.id}>
              {formatDateTime(x.createdAt)} · {x.incremental ? "incremental" : "full"}
              {i === 0 ? " · latest" : ""} · {x.keysAvailable === true ? "keys available" : x.keysAvailable === false ? "keys missing" : x.status !== "ok" ? x.status : "keys not checked"}
            </option>
          ))}
        </select>
      </Field>
      <dl className="grid max-w-3xl grid-cols-[11rem_1fr] gap-x-4 gap-y-2" data-testid="point-details">
        <dt className="text-slate-500">Created</dt>
        <dd>{formatDateTime(p.createdAt)} ({p.incremental ? "incremental" : "full"})</dd>
        <dt className="text-slate-500">Backup job · repository</dt>
        <dd>{p.jobName ?? "job removed"} · {p.repositoryName}</dd>
        <dt className="text-slate-500">Backup key ids</dt>
        <dd className="flex flex-wrap items-center gap-2">
          <KeyIds ids={p.keyIds} />
          {p.keysAvailable ? <Badge tone="good">Keys available</Badge> : <Badge tone="bad">Keys missing</Badge>}
        </dd>
        {vm && (
          <>
            <dt className="text-slate-500">VM at backup</dt>
            <dd className="flex flex-wrap items-center gap-2">
              <EncryptionBadge encrypted={vm.encrypted} keyProvider={vm.keyProvider?.name} />
              {vm.encrypted && <span>key provider {vm.keyProvider?.name ?? vm.keyProvider?.externalId}{vm.keyId ? <>, keyId <code className="text-xs">{vm.keyId}</code></> : null}</span>}
              {vm.vtpm && <Badge tone="info">vTPM</Badge>}
              {vm.encrypted && <span className="text-slate-600">{vm.savedKeys ? "encryption.bundle and NVRAM kept" : "encryption.bundle and NVRAM not kept"}</span>}
            </dd>
            <dt className="text-slate-500">Tenant</dt>
            <dd>{vm.tenant?.name ?? "Provider (no tenant)"}</dd>
          </>
        )}
        <dt className="text-slate-500">The VM now</dt>
        <dd data-testid="source-now">
          {options.source ? (
            <>
              {options.source.vmId ? <Link href={`/vms/${options.source.vmId}`} className="text-brand-600 hover:underline">{options.source.name}</Link> : options.source.name} on {options.source.hostName} ({options.source.siteName}), {options.source.folder}, {options.source.powerState === "poweredOn" ? "powered on" : options.source.powerState === "poweredOff" ? "powered off" : options.source.powerState}
              {options.source.encrypted ? ", encrypted" : ", not encrypted"}
            </>
          ) : (
            "No longer in the inventory (deleted or moved away)"
          )}
        </dd>
      </dl>
      {!p.keysAvailable && (
        <div data-testid="point-keys-missing">
          <ErrorNotice title="This point cannot be restored: the console holds none of its keys">
            <p>It opens with one of these keys, and this console holds none of them now (the job&apos;s password may have changed since the point was made, or its KMS key is out of reach):</p>
            <div className="my-2"><KeyIds ids={p.keyIds} /></div>
            <p>Pick another point, or get the key back under Password recovery (a Security Officer answers with the recovery keyset), then come back.</p>
            <details className="mt-2 text-xs">
              <summary className="cursor-pointer">What the console answered</summary>
              <p className="mt-1 break-all">{p.keysProblem}</p>
            </details>
          </ErrorNotice>
        </div>
      )}
      {vm && (
        <table className="min-w-full max-w-3xl text-sm" data-testid="point-disks">
          <thead>
            <tr className="text-left text-xs uppercase tracking-wide text-slate-500">
              <th className="pb-1 pr-4 font-semibold">Disk</th>
              <th className="pb-1 pr-4 text-right font-semibold">Capacity</th>
              <th className="pb-1 font-semibold">At backup</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {vm.disks.map((d) => (
              <tr key={d.deviceKey}>
                <td className="py-1.5 pr-4 font-medium">{d.label}</td>
                <td className="py-1.5 pr-4 text-right tabular-nums">{formatBytes(d.capacityBytes)}</td>
                <td className="py-1.5"><EncryptionBadge encrypted={d.encrypted} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
