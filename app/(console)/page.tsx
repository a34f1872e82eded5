import Link from "next/link";
import { SyncButton } from "@/components/inventory/sync-button";
import { Badge } from "@/components/ui/badge";
import { Card, PageHeader, Stat } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/states";
import { Table, Td, Th } from "@/components/ui/table";
import { hasPermission } from "@/lib/permissions/roles";
import { requireActor } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import { getDashboard } from "@/lib/services/inventory/get-dashboard";
import { syncInventoryAction } from "./inventory/actions";

export const metadata = { title: "Dashboard" };

export default async function DashboardPage() {
  const actor = await requireActor();
  const d = await getDashboard(actor);
  const pct = (a: number, b: number) => (b ? `${Math.round((a / b) * 100)}%` : "—");
  return (
    <>
      <PageHeader
        title="Dashboard"
        description="Your protected estate at a glance: how much of it is encrypted with VM Encryption, where, and what needs attention."
        actions={hasPermission(actor.role, "inventory:sync") ? <SyncButton action={syncInventoryAction} lastSyncLabel={formatDateTime(d.lastSyncAt)} /> : undefined}
      />
      {d.totals.vms === 0 ? (
        <EmptyState title="No inventory yet">
          The platform has not been synced. {hasPermission(actor.role, "inventory:sync") ? "Use “Sync inventory now” above." : "Ask a Backup Administrator to sync the inventory."}
        </EmptyState>
      ) : (
        <div className="space-y-6">
          <div className="grid grid-cols-2 gap-4 lg:grid-cols-4" data-testid="dashboard-totals">
            <Stat label="Virtual machines" value={d.totals.vms} hint={`${d.totals.disks} virtual disks on ${d.totals.hosts} hosts`} testId="stat-vms" />
            <Stat label="Encrypted (VM Encryption)" value={d.totals.encrypted} hint={`${pct(d.totals.encrypted, d.totals.vms)} of VMs`} testId="stat-encrypted" />
            <Stat label="With vTPM" value={d.totals.vtpm} hint="vTPM requires VM encryption" />
            <Stat label="Guest-OS encrypted" value={d.totals.guestOsEncrypted} hint="Opaque to the host" />
          </div>
          <div className="grid gap-6 lg:grid-cols-2">
            <Card title="Sites">
              <Table testId="per-site">
                <thead>
                  <tr><Th>Site</Th><Th>Role</Th><Th className="text-right">VMs</Th><Th className="text-right">Encrypted</Th><Th>Last sync</Th></tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {d.perSite.map((s) => (
                    <tr key={s.id}>
                      <Td><Link className="text-brand-600 hover:underline" href={`/vms?site=${s.id}`}>{s.name}</Link></Td>
                      <Td><Badge tone={s.role === "DR" ? "info" : "neutral"}>{s.role === "DR" ? "DR" : "Production"}</Badge></Td>
                      <Td className="text-right">{s.vms}</Td>
                      <Td className="text-right">{s.encrypted} <span className="text-slate-400">({pct(s.encrypted, s.vms)})</span></Td>
                      <Td className="text-xs text-slate-500">{formatDateTime(s.lastSyncAt)}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            </Card>
            <Card title="Tenants">
              <Table testId="per-tenant">
                <thead>
                  <tr><Th>Tenant</Th><Th className="text-right">VMs</Th><Th className="text-right">Encrypted</Th><Th>Key providers</Th></tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {d.perTenant.map((t) => (
                    <tr key={t.id ?? "none"}>
                      <Td><Link className="text-brand-600 hover:underline" href={`/vms?tenant=${t.id ?? "none"}`}>{t.name}</Link></Td>
                      <Td className="text-right">{t.vms}</Td>
                      <Td className="text-right">{t.encrypted}</Td>
                      <Td className="text-xs">{t.keyProviders.join(", ") || "—"}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            </Card>
          </div>
          <Card title={`Needs attention (${d.attention.length})`}>
            {d.attention.length === 0 ? (
              <p className="text-sm text-slate-600">Nothing needs attention: every encrypted VM can be read by a proxy of its own key provider.</p>
            ) : (
              <ul className="divide-y divide-slate-100" data-testid="attention">
                {d.attention.map((a) => (
                  <li key={a.id} className="flex items-start gap-3 py-2">
                    <Badge tone={a.severity === "warning" ? "warn" : "info"}>{a.severity === "warning" ? "Warning" : "Info"}</Badge>
                    <div className="text-sm">
                      <Link href={a.href} className="font-medium text-slate-900 hover:underline">{a.title}</Link>
                      <p className="text-slate-600">{a.detail}</p>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
      )}
    </>
  );
}
