import { GenerateKeysetButton, ImportKeysetForm, KeysetPolicyForm } from "@/components/recovery/keyset-forms";
import { KeysetTable } from "@/components/recovery/keyset-table";
import { Badge } from "@/components/ui/badge";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { EmptyState } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import { hasPermission } from "@/lib/permissions/roles";
import { listRecoveryKeysets } from "@/lib/services/recovery/list-recovery-keysets";
import { exportKeysetAction, generateKeysetAction, importKeysetAction, retireKeysetAction, setKeysetPolicyAction } from "./actions";

export const metadata = { title: "Recovery keysets" };

export default async function RecoveryKeysetsPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "job:read")) return <Forbidden what="see the recovery keysets" />;
  const { keysets, policy, nextRotationAt } = await listRecoveryKeysets(actor);
  const canManage = hasPermission(actor.role, "keyset:manage");
  const active = keysets.filter((k) => k.active);
  const notExported = active.filter((k) => k.privateKeyHeld && !k.lastExportedAt);
  return (
    <>
      <PageHeader
        title="Recovery keysets"
        description="Password-loss protection. Every restore point's key is also wrapped by these keysets' public keys, so a Security Officer can recover points whose password is lost (or whose KMS key is gone)."
      />

      <Card className="mb-6">
        <div className="grid gap-4 text-sm text-slate-700 md:grid-cols-3" data-testid="keyset-explainer">
          <div>
            <h3 className="font-medium text-slate-900">What they protect</h3>
            <p className="mt-1">Each backup session wraps the new restore points&apos; keys under the job&apos;s password or KMS key <em>and</em> under every active keyset. Retired keysets wrap no new point; points made while they were active still open with them.</p>
          </div>
          <div>
            <h3 className="font-medium text-slate-900">Who holds the private key</h3>
            <p className="mt-1">A keyset&apos;s private key opens every point it protects. The console keeps it sealed; a Security Officer exports it under a passphrase and keeps the file offline. A keyset imported without its private key still protects new points, but only its holder can recover them.</p>
          </div>
          <div>
            <h3 className="font-medium text-slate-900">Right now</h3>
            <p className="mt-1" data-testid="keyset-summary">
              {active.length === 0 ? (
                <span className="text-amber-800">No active keyset: new restore points are protected only by their password or KMS key.</span>
              ) : (
                <>
                  <Badge tone="good">{active.length} active</Badge> {active.length === 1 ? "keyset wraps" : "keysets wrap"} every new restore point.
                </>
              )}
              {notExported.length > 0 && <span className="mt-1 block text-amber-800">{notExported.length === 1 ? "One active keyset has" : `${notExported.length} active keysets have`} never been exported: if this console is lost, its private key is lost with it.</span>}
              <span className="mt-1 block text-slate-500">
                {policy.enabled ? `Automatic: a new keyset every ${policy.rotateDays} day(s), retired after ${policy.retentionDays}. Next: ${nextRotationAt && Date.parse(nextRotationAt) <= Date.now() ? "at the runner's next check" : formatDateTime(nextRotationAt)}.` : "Automatic generation is off."}
              </span>
            </p>
          </div>
        </div>
      </Card>

      <div className="mb-3 flex flex-wrap items-start justify-between gap-4">
        <h2 className="pt-1.5 text-sm font-semibold text-slate-800">Keysets</h2>
        {canManage && <GenerateKeysetButton action={generateKeysetAction} />}
      </div>
      {keysets.length === 0 ? (
        <EmptyState title="No recovery keyset yet — new backups are protected only by their password or KMS key">
          {canManage
            ? "Generate a keyset now, or import one exported from another Strongroom console. With automatic generation on, the runner creates one at its next check."
            : "A Security Officer generates or imports one. Until then, a lost backup password means lost backups."}
        </EmptyState>
      ) : (
        <KeysetTable keysets={keysets} manage={canManage ? { exportKeyset: exportKeysetAction, retire: retireKeysetAction } : undefined} />
      )}
      {!canManage && keysets.length > 0 && <p className="mt-2 text-xs text-slate-500" data-testid="read-only-note">Read-only: only a Security Officer generates, exports, imports or retires keysets.</p>}

      <div className="mt-8 grid gap-6 lg:grid-cols-2">
        <Card title="Rotation and retention">
          {canManage ? (
            <KeysetPolicyForm policy={policy} action={setKeysetPolicyAction} />
          ) : (
            <p className="text-sm text-slate-700" data-testid="policy-text">
              {policy.enabled ? `A new keyset is generated every ${policy.rotateDays} day(s); keysets older than ${policy.retentionDays} day(s) are retired (never the newest).` : "Keysets are not generated or retired automatically."}
            </p>
          )}
        </Card>
        {canManage && (
          <Card title="Import a keyset">
            <p className="mb-3 text-sm text-slate-600">From a file exported by this or another Strongroom console (after a disaster, or to protect backups with a keyset kept elsewhere).</p>
            <ImportKeysetForm action={importKeysetAction} />
          </Card>
        )}
      </div>
    </>
  );
}
