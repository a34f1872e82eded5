"use client";
import Link from "next/link";
import { useActionState } from "react";
import { ActionMessage, FieldError } from "@/components/users/form-bits";
import { Table, Td, Th } from "@/components/ui/table";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatDateTime } from "@/lib/format";
import type { RepositoryKeyNeedsDto } from "@/lib/services/restore/repository-key-needs";
import { middleEllipsis, PointTypeBadge } from "./badges";

type Action = (p: ActionState, fd: FormData) => Promise<ActionState>;

const KIND_LABELS = { password: "Backup password", kms: "Key on a KMS cluster", keyset: "Recovery keyset", other: "Key" } as const;

/**
 * Disaster recovery on a repository's page: the restore points this console cannot open yet (a
 * repository made by another console, or before this one lost its configuration), the keys each
 * needs with the password hints, and the backup password form for who may restore. Once the
 * password is entered the panel says how many points it opened; it stays, in green, while a
 * password entered here is in use.
 */
export function RepositoryKeysPanel({ repositoryId, needs, canUnlock, action }: { repositoryId: string; needs: RepositoryKeyNeedsDto; canUnlock: boolean; action: Action }) {
  const [state, formAction, pending] = useActionState(action, null);
  const n = needs.points.length;
  const passwordNeeded = needs.keys.some((k) => k.kind === "password");
  const kmsNeeded = needs.keys.some((k) => k.kind === "kms");
  const locked = n > 0;
  return (
    <section
      className={`mb-6 rounded-lg border shadow-sm ${locked ? "border-amber-300 bg-amber-50/60" : "border-emerald-200 bg-emerald-50/60"}`}
      data-testid="repository-keys-panel"
      data-state={locked ? "locked" : "open"}
    >
      <header className="border-b border-black/5 px-4 py-3">
        <h2 className={`text-base font-semibold ${locked ? "text-amber-900" : "text-emerald-900"}`} data-testid="keys-panel-title">
          {locked ? `${n}${needs.unchecked ? "+" : ""} restore point${n === 1 ? " needs" : "s need"} a key` : "Every restore point of this repository opens"}
        </h2>
        <p className="mt-0.5 text-sm text-slate-700">
          {locked
            ? "This console does not hold the keys that encrypted these restore points: they were made by another Strongroom console, or before this console lost its configuration. Until their key is supplied, the VM each one holds is unknown and it cannot be restored."
            : "This console now holds the key of every restore point here: they can be restored under Restore."}
        </p>
      </header>
      <div className="space-y-4 p-4">
        {state?.ok && <ActionMessage state={state} />}
        {needs.unreadable && <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">{needs.unreadable}</p>}

        {locked && (
          <div>
            <h3 className="text-sm font-semibold text-slate-800">Keys needed</h3>
            <p className="mb-2 text-xs text-slate-600">A restore point opens with any one of the keys it lists: the backup password is enough.</p>
            <ul className="space-y-2" data-testid="needed-keys">
              {needs.keys.map((k) => (
                <li key={k.keyId} className="rounded-md border border-slate-200 bg-white px-3 py-2 text-sm" data-testid="needed-key" data-kind={k.kind}>
                  <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
                    <span className="font-medium text-slate-800">{KIND_LABELS[k.kind]}</span>
                    <code className="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700" title={k.keyId}>{middleEllipsis(k.keyId, 52)}</code>
                    <span className="text-xs text-slate-500">{k.points === n ? (n === 1 ? "opens the point" : `opens all ${n} points`) : `opens ${k.points} of the ${n} points`}</span>
                  </div>
                  {k.kind === "password" && (
                    <div className="mt-1 text-sm" data-testid="password-hint">
                      {k.hint ? (
                        <>Password hint: <span className="font-medium text-slate-900">&ldquo;{k.hint}&rdquo;</span></>
                      ) : (
                        <span className="text-slate-500">No password hint was set when this password was chosen.</span>
                      )}
                    </div>
                  )}
                  {k.kind === "keyset" && <div className="mt-1 text-xs text-slate-600">If the password is lost: a Security Officer holding this recovery keyset can give this console the point&apos;s key under Password recovery.</div>}
                  {k.kind === "kms" && <div className="mt-1 text-xs text-slate-600">Register this KMS cluster under Key providers: the points then open without a password.</div>}
                </li>
              ))}
            </ul>
          </div>
        )}

        {locked && canUnlock && passwordNeeded && (
          <form action={formAction} className="rounded-md border border-slate-200 bg-white p-3" data-testid="unlock-form">
            <input type="hidden" name="repositoryId" value={repositoryId} />
            <label className="block text-sm">
              <span className="font-medium text-slate-800">Enter the backup password</span>
              <span className="block text-xs text-slate-500">The password of the backup job that made these points. It is checked against each point; only the key it opens is kept, sealed by this console. The password itself is not stored.</span>
              <div className="mt-2 flex max-w-xl gap-2">
                <input type="password" name="password" autoComplete="off" className="input" aria-label="Backup password" data-testid="unlock-password" disabled={pending} />
                <button className="btn-primary whitespace-nowrap" disabled={pending} data-testid="unlock-submit">
                  {pending ? "Checking the password…" : "Open the restore points"}
                </button>
              </div>
            </label>
            <FieldError state={state} name="password" />
            {state && !state.ok && <div className="mt-2"><ActionMessage state={state} /></div>}
          </form>
        )}
        {locked && !canUnlock && passwordNeeded && (
          <p className="text-sm text-slate-700" data-testid="unlock-not-allowed">Someone who may restore VMs (a Restore Operator or a Backup Administrator) can enter the backup password here.</p>
        )}
        {locked && kmsNeeded && !passwordNeeded && <p className="text-sm text-slate-700">These points open once their KMS cluster is registered under Key providers.</p>}
        {needs.problems.length > 0 && (
          <ul className="list-disc space-y-1 pl-5 text-xs text-slate-600">{needs.problems.map((p) => <li key={p}>{p}</li>)}</ul>
        )}

        {locked && (
          <div>
            <h3 className="mb-1 text-sm font-semibold text-slate-800">Restore points that need a key</h3>
            <Table testId="points-needing-keys">
              <thead>
                <tr><Th>Created</Th><Th>VM</Th><Th>Type</Th><Th>Opens with</Th></tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {needs.points.map((p) => (
                  <tr key={p.id} data-testid="point-needing-key">
                    <Td className="whitespace-nowrap">{formatDateTime(p.createdAt)}</Td>
                    <Td>{p.vmName ?? <span className="text-slate-500">Unknown until the key is supplied</span>}</Td>
                    <Td><PointTypeBadge incremental={p.incremental} /></Td>
                    <Td>
                      <ul>{p.keyIds.map((k) => <li key={k}><code className="text-xs" title={k}>{middleEllipsis(k, 52)}</code></li>)}</ul>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
            {needs.unchecked > 0 && <p className="mt-1 text-xs text-slate-500">{needs.unchecked} older point(s) were not checked here.</p>}
          </div>
        )}

        {needs.entered.length > 0 && (
          <div className="text-sm text-slate-700" data-testid="entered-keys">
            {needs.entered.map((k) => (
              <p key={k.keyId}>
                Backup password entered {formatDateTime(k.at)}{k.by ? ` by ${k.by}` : ""} (<code className="text-xs">{middleEllipsis(k.keyId, 40)}</code>): kept as its sealed key only.
              </p>
            ))}
            {!locked && <Link href="/restore" className="btn-primary mt-3 inline-block" data-testid="keys-panel-restore-link">Go to Restore</Link>}
          </div>
        )}
      </div>
    </section>
  );
}
