"use client";
import { useRouter } from "next/navigation";
import { Fragment, useActionState, useState, useTransition } from "react";
import { Badge } from "@/components/ui/badge";
import { LockIcon } from "@/components/ui/icons";
import { Table, Td, Th } from "@/components/ui/table";
import type { ActionState } from "@/lib/auth/safe-action";
import { formatDateTime } from "@/lib/format";
import { MIN_KEYSET_PASSPHRASE } from "@/lib/schemas/recovery";
import type { RecoveryKeysetDto } from "@/lib/services/recovery/list-recovery-keysets";

type Action = (s: ActionState, f: FormData) => Promise<ActionState>;
export type ExportAction = (input: { keysetId: string; passphrase: string; passphraseConfirm: string }) => Promise<
  { ok: true; fileName: string; json: string; message: string } | { ok: false; formError: string; fieldErrors?: Record<string, string[]> }
>;

const button = "rounded-md border px-2 py-1 text-xs font-medium disabled:cursor-not-allowed disabled:opacity-50";

/** The keysets, newest first. With `manage` (Security Officer) each row can be exported and retired. */
export function KeysetTable({ keysets, manage }: { keysets: RecoveryKeysetDto[]; manage?: { exportKeyset: ExportAction; retire: Action } }) {
  const [open, setOpen] = useState<string | null>(null);
  const columns = manage ? 7 : 6;
  return (
    <Table testId="keyset-table">
      <thead>
        <tr>
          <Th>Keyset</Th>
          <Th>State</Th>
          <Th>Private key</Th>
          <Th>Created</Th>
          <Th className="text-right">Restore points</Th>
          <Th>Last export</Th>
          {manage && <Th className="text-right">Manage</Th>}
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {keysets.map((k) => (
          <Fragment key={k.id}>
            <tr data-testid="keyset-row" data-keyset={k.id} className={k.active ? "" : "bg-slate-50/60"}>
              <Td>
                <code className="text-xs text-slate-800" title={k.id}>{k.id.slice(0, 16)}…</code>
                <div className="whitespace-nowrap text-xs text-slate-500">{k.source === "imported" ? "Imported" : "Generated"} · RSA {k.modulusBits}</div>
              </Td>
              <Td>
                {k.active ? (
                  <Badge tone="good" title="Wraps the keys of every new restore point">Active</Badge>
                ) : (
                  <div>
                    <Badge title="Wraps no new restore point; the points made before still open with it">Retired</Badge>
                    <div className="mt-0.5 whitespace-nowrap text-xs text-slate-500">{formatDateTime(k.retiredAt)}</div>
                  </div>
                )}
              </Td>
              <Td>
                {k.privateKeyHeld ? (
                  <Badge tone="lock" title="Sealed under the console's configuration key; it leaves the console only in a passphrase-encrypted export">
                    <LockIcon /> Held by the console
                  </Badge>
                ) : (
                  <Badge tone="warn" title="The console cannot answer recovery with this keyset: whoever holds its private key can">Public key only</Badge>
                )}
              </Td>
              <Td className="whitespace-nowrap text-xs text-slate-600">{formatDateTime(k.createdAt)}</Td>
              <Td className="text-right tabular-nums" >
                <span data-testid="keyset-points">{k.pointCount}</span>
              </Td>
              <Td className="text-xs">
                {k.lastExportedAt ? (
                  <div>
                    <div className="whitespace-nowrap text-slate-600">{formatDateTime(k.lastExportedAt)}</div>
                    <div className="text-slate-500" title={k.lastExportedBy?.email}>by {k.lastExportedBy?.name ?? "a removed user"}</div>
                  </div>
                ) : k.privateKeyHeld ? (
                  <span className="text-amber-800" title="If this console is lost, so is the only copy of this private key">Never — export a copy</span>
                ) : (
                  <span className="text-slate-500">—</span>
                )}
              </Td>
              {manage && (
                <Td className="text-right">
                  <div className="flex justify-end gap-2">
                    {k.privateKeyHeld && (
                      <button type="button" onClick={() => setOpen(open === k.id ? null : k.id)} className={`${button} border-brand-600 text-brand-700 hover:bg-brand-50`} aria-expanded={open === k.id} data-testid="export-keyset">
                        {open === k.id ? "Close" : "Export…"}
                      </button>
                    )}
                    {k.active && <RetireButton keysetId={k.id} action={manage.retire} />}
                  </div>
                </Td>
              )}
            </tr>
            {manage && open === k.id && (
              <tr className="bg-brand-50/40">
                <td colSpan={columns} className="px-3 py-3">
                  <ExportForm keysetId={k.id} action={manage.exportKeyset} />
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </tbody>
    </Table>
  );
}

function RetireButton({ keysetId, action }: { keysetId: string; action: Action }) {
  const [state, formAction, pending] = useActionState(action, null);
  return (
    <form
      action={formAction}
      onSubmit={(e) => {
        if (!confirm("Retire this keyset? It will wrap no new restore point. Points made while it was active still open with it, and it stays listed and exportable.")) e.preventDefault();
      }}
    >
      <input type="hidden" name="keysetId" value={keysetId} />
      <button disabled={pending} className={`${button} border-red-300 text-red-700 hover:bg-red-50`} data-testid="retire-keyset">
        {pending ? "Retiring…" : "Retire"}
      </button>
      {state && !state.ok && <p className="mt-1 max-w-xs text-left text-xs text-red-700" data-testid="action-error">{state.formError}</p>}
    </form>
  );
}

/** Asks for the passphrase twice, then saves the file the server returns (the passphrase never goes in a URL). */
function ExportForm({ keysetId, action }: { keysetId: string; action: ExportAction }) {
  const router = useRouter();
  const [passphrase, setPassphrase] = useState("");
  const [confirmation, setConfirmation] = useState("");
  const [result, setResult] = useState<Awaited<ReturnType<ExportAction>> | null>(null);
  const [pending, start] = useTransition();
  const tooShort = passphrase.length > 0 && passphrase.length < MIN_KEYSET_PASSPHRASE;
  const differs = confirmation.length > 0 && confirmation !== passphrase;
  const fieldError = (name: string) => (result && !result.ok ? result.fieldErrors?.[name]?.join("; ") : undefined);
  const input = "mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm";
  return (
    <form
      className="max-w-3xl space-y-3"
      data-testid="export-form"
      onSubmit={(e) => {
        e.preventDefault();
        start(async () => {
          const r = await action({ keysetId, passphrase, passphraseConfirm: confirmation });
          setResult(r);
          if (!r.ok) return;
          setPassphrase("");
          setConfirmation("");
          saveFile(r.fileName, r.json);
          router.refresh();
        });
      }}
    >
      <p className="text-sm text-slate-700">
        The file holds this keyset&apos;s private key, encrypted under the passphrase you choose. With the passphrase it opens every restore point the keyset protects: keep the file offline (a vault, a safe) and the passphrase apart from it.
      </p>
      <div className="grid gap-3 md:grid-cols-2">
        <label className="text-sm font-medium text-slate-700">
          Passphrase <span className="font-normal text-slate-500">({MIN_KEYSET_PASSPHRASE}+ characters)</span>
          <input type="password" name="passphrase" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} className={input} autoComplete="new-password" maxLength={1024} />
          {(fieldError("passphrase") ?? (tooShort ? `Use at least ${MIN_KEYSET_PASSPHRASE} characters` : null)) && (
            <span className="mt-1 block text-xs text-red-700" data-testid="error-passphrase">{fieldError("passphrase") ?? `Use at least ${MIN_KEYSET_PASSPHRASE} characters`}</span>
          )}
        </label>
        <label className="text-sm font-medium text-slate-700">
          Passphrase again
          <input type="password" name="passphraseConfirm" value={confirmation} onChange={(e) => setConfirmation(e.target.value)} className={input} autoComplete="new-password" maxLength={1024} />
          {(fieldError("passphraseConfirm") ?? (differs ? "The two passphrases differ" : null)) && (
            <span className="mt-1 block text-xs text-red-700" data-testid="error-passphraseConfirm">{fieldError("passphraseConfirm") ?? "The two passphrases differ"}</span>
          )}
        </label>
      </div>
      <div className="flex items-center gap-3">
        <button type="submit" disabled={pending || passphrase.length < MIN_KEYSET_PASSPHRASE || confirmation !== passphrase} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700 disabled:opacity-50" data-testid="download-keyset">
          {pending ? "Preparing…" : "Download keyset file"}
        </button>
        <span className="text-xs text-slate-500">The export is recorded in the audit log.</span>
      </div>
      {result &&
        (result.ok ? (
          <p className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" role="status" data-testid="action-ok">{result.message}</p>
        ) : (
          <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="action-error">{result.formError}</p>
        ))}
    </form>
  );
}

function saveFile(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
