"use client";
import { DatastoreTree } from "@/components/placement/datastore-tree";
import { Badge } from "@/components/ui/badge";
import { formatBytes } from "@/lib/format";
import { networksOnHost, type NetworkChoice } from "@/lib/platform/network-mapping";
import { replicaDatastoreRefusal, replicaDiskEncrypted, replicaHomeEncrypted, type ReplicaKeyModeName } from "@/lib/replication/replica-placement";
import { policyChoices, policyFor } from "@/lib/restore/placement";
import type { ReplicationWizardOptionsDto, ReplicationWizardSite, ReplicationWizardVm } from "@/lib/services/replication/get-replication-wizard-options";
import { siteOf, vmsOf, type Place, type ReplicationWizardForm, type VmPlacement } from "./wizard-form";

// The replication wizard's "Destination" step (REP-3): the target site and host, the replica name
// suffix, and per VM where the replica's home and each disk go — picked from the datastore tree in
// which encryption-compatible datastores sit under the VM Encryption Policy node (an encrypted
// replica's home and encrypted disks only there; the others are shown, refused with the reason) —
// each with its storage policy, and each network adapter mapped to a network of the target host or
// left disconnected.

export function WizardDestinationStep(props: {
  options: ReplicationWizardOptionsDto;
  form: ReplicationWizardForm;
  change: (patch: Partial<ReplicationWizardForm>) => void;
  error: (field: string) => React.ReactNode;
}) {
  const { options, form, change, error } = props;
  const site = siteOf(options, form);
  const vms = vmsOf(options, form);
  const setPlacement = (vmId: string, p: VmPlacement) => change({ placements: { ...form.placements, [vmId]: p } });
  return (
    <div className="space-y-5">
      <div className="grid gap-4 md:grid-cols-2">
        <label className="block text-sm">
          <span className="mb-1 block font-medium text-slate-700">Target site (vCenter)</span>
          <select value={form.targetSiteExternalId} onChange={(e) => change({ targetSiteExternalId: e.target.value })} className="input" data-testid="target-site">
            {options.sites.map((s) => (
              <option key={s.externalId} value={s.externalId}>
                {s.name} ({s.role === "dr" ? "DR" : "production"}){s.hasKeyProvider ? "" : " — no key provider"}
              </option>
            ))}
          </select>
          {error("targetSiteExternalId")}
        </label>
        <label className="block text-sm">
          <span className="mb-1 block font-medium text-slate-700">Replica name suffix</span>
          <input value={form.suffix} onChange={(e) => change({ suffix: e.target.value })} className="input w-48" data-testid="replica-suffix" />
          <span className="mt-1 block text-xs text-slate-500">
            Each replica is named after its VM with this suffix{vms[0] ? <>, e.g. <strong>{vms[0].name}{form.suffix}</strong></> : null}, in the VM&apos;s folder at the target.
          </span>
          {error("suffix")}
        </label>
      </div>
      {site && (
        <div>
          <div className="mb-1 text-sm font-medium text-slate-700">Host the replicas are registered on</div>
          <div className="max-h-48 overflow-y-auto rounded-md border border-slate-200" data-testid="target-hosts">
            {site.hosts.map((h) => (
              <label key={h.externalId} className={`flex items-center gap-3 border-b border-slate-100 px-3 py-1.5 text-sm last:border-0 ${h.usable ? "" : "text-slate-400"}`} data-testid="target-host" data-host={h.name}>
                <input type="radio" name="target-host" disabled={!h.usable} checked={form.targetHostExternalId === h.externalId} onChange={() => change({ targetHostExternalId: h.externalId })} />
                <span className="w-56 font-medium">{h.name}</span>
                <span className="text-xs text-slate-500">{h.cluster}</span>
                {!h.usable && <span className="text-xs text-slate-500">{h.why}</span>}
              </label>
            ))}
          </div>
          {error("targetHostExternalId")}
        </div>
      )}
      {site && (
        <p className="text-sm text-slate-600">
          {form.keyMode === "unencrypted"
            ? "The replicas will be unencrypted (as chosen under Keys), so any datastore can take them."
            : <>The replicas will be <strong>encrypted</strong> ({form.keyMode === "shared" ? "shared keys" : "a new key at the target"}; you can change this under Keys). An encrypted replica&apos;s home (configuration and NVRAM) and its encrypted disks can go only to a datastore under the <strong>VM Encryption Policy</strong> node: choosing another datastore for them is refused, with the reason.</>}
        </p>
      )}
      {site &&
        vms.map((vm) => {
          const p = form.placements[vm.externalId];
          if (!p) return null;
          return <VmDestination key={vm.externalId} vm={vm} site={site} form={form} placement={p} onChange={(x) => setPlacement(vm.externalId, x)} error={error} />;
        })}
    </div>
  );
}

function VmDestination({ vm, site, form, placement, onChange, error }: { vm: ReplicationWizardVm; site: ReplicationWizardSite; form: ReplicationWizardForm; placement: VmPlacement; onChange: (p: VmPlacement) => void; error: (field: string) => React.ReactNode }) {
  const keyMode = form.keyMode;
  const homeEnc = replicaHomeEncrypted(vm, keyMode);
  const moveHome = (ds: string) => onChange({ ...placement, home: { datastoreExternalId: ds, storagePolicyExternalId: policyFor(site, site.datastores.find((d) => d.externalId === ds), placement.home.storagePolicyExternalId, homeEnc) } });
  const moveDisk = (deviceKey: number, encrypted: boolean, ds: string) =>
    onChange({ ...placement, disks: placement.disks.map((d) => (d.deviceKey === deviceKey ? { ...d, datastoreExternalId: ds, storagePolicyExternalId: policyFor(site, site.datastores.find((x) => x.externalId === ds), d.storagePolicyExternalId, encrypted) } : d)) });
  return (
    <section className="space-y-3 rounded-md border border-slate-200 p-3" data-testid={`dest-vm-${vm.name}`}>
      <div className="flex flex-wrap items-center gap-2">
        <h3 className="font-semibold text-slate-900">
          {vm.name} → {vm.name}
          {form.suffix}
        </h3>
        <span className="text-xs text-slate-500">
          from {vm.siteName} · folder {vm.folder}
        </span>
        {vm.encrypted ? <Badge tone="lock">source encrypted{vm.keyProviderName ? ` (${vm.keyProviderName})` : ""}</Badge> : <Badge>source unencrypted</Badge>}
      </div>
      {error(`${vm.externalId}.name`)}
      <Item
        testId={`place-${vm.name}-home`}
        title="Replica home (configuration, NVRAM)"
        encrypted={homeEnc}
        keyMode={keyMode}
        site={site}
        what="home"
        bytes={0}
        place={placement.home}
        onDatastore={moveHome}
        onPolicy={(pol) => onChange({ ...placement, home: { ...placement.home, storagePolicyExternalId: pol } })}
        error={<>{error(`${vm.externalId}.home`)}{error(`${vm.externalId}.home.policy`)}</>}
      />
      {placement.disks.map((d) => {
        const src = vm.disks.find((x) => x.deviceKey === d.deviceKey);
        if (!src) return null;
        const enc = replicaDiskEncrypted(vm, src, keyMode);
        return (
          <Item
            key={d.deviceKey}
            testId={`place-${vm.name}-disk-${d.deviceKey}`}
            title={`${src.label} · ${formatBytes(src.capacityBytes)}`}
            encrypted={enc}
            keyMode={keyMode}
            site={site}
            what="disk"
            bytes={src.capacityBytes}
            place={d}
            onDatastore={(ds) => moveDisk(d.deviceKey, enc, ds)}
            onPolicy={(pol) => onChange({ ...placement, disks: placement.disks.map((x) => (x.deviceKey === d.deviceKey ? { ...x, storagePolicyExternalId: pol } : x)) })}
            error={<>{error(`${vm.externalId}.disk.${d.deviceKey}`)}{error(`${vm.externalId}.disk.${d.deviceKey}.policy`)}</>}
          />
        );
      })}
      <Networks vm={vm} site={site} hostId={form.targetHostExternalId} value={placement.networks} onChange={(networks) => onChange({ ...placement, networks })} error={error} />
    </section>
  );
}

function Item(props: {
  testId: string;
  title: string;
  encrypted: boolean;
  keyMode: ReplicaKeyModeName;
  site: ReplicationWizardSite;
  what: "home" | "disk";
  bytes: number;
  place: Place;
  onDatastore: (id: string) => void;
  onPolicy: (id: string) => void;
  error: React.ReactNode;
}) {
  const { site } = props;
  const ds = site.datastores.find((d) => d.externalId === props.place.datastoreExternalId);
  return (
    <div className="rounded-md border border-slate-100 p-2" data-testid={props.testId}>
      <div className="flex flex-wrap items-center gap-3">
        <div className="font-medium text-slate-900">{props.title}</div>
        <span className="ml-auto">{props.encrypted ? <Badge tone="lock">Encrypted in the replica</Badge> : <Badge>Unencrypted in the replica</Badge>}</span>
      </div>
      <DatastoreTree
        name={props.testId}
        label={`${props.title}: datastore`}
        datastores={site.datastores}
        what={props.what}
        encrypted={props.encrypted}
        bytes={props.bytes}
        value={props.place.datastoreExternalId}
        onChange={props.onDatastore}
        refusalFor={(d) => replicaDatastoreRefusal(d, props.what, props.encrypted, props.bytes)}
        refusedSelectable
      />
      <label className="mt-2 flex flex-wrap items-center gap-2 text-sm">
        <span className="text-slate-600">Storage policy</span>
        <select value={props.place.storagePolicyExternalId} onChange={(e) => props.onPolicy(e.target.value)} className="input max-w-xl" data-testid={`${props.testId}-policy`}>
          <option value="">Choose a storage policy…</option>
          {policyChoices(site, ds, props.encrypted).map((p) => (
            <option key={p.externalId} value={p.externalId} disabled={!!p.refusal}>
              {p.name}
              {p.encryption ? " (encrypts)" : ""}
              {p.refusal ? ` — ${p.refusal}` : ""}
            </option>
          ))}
        </select>
      </label>
      {props.error}
    </div>
  );
}

function Networks({ vm, site, hostId, value, onChange, error }: { vm: ReplicationWizardVm; site: ReplicationWizardSite; hostId: string; value: NetworkChoice[]; onChange: (v: NetworkChoice[]) => void; error: (field: string) => React.ReactNode }) {
  const host = site.hosts.find((h) => h.externalId === hostId);
  const hostName = host?.name ?? "the target host";
  const onHost = networksOnHost(site.networks, hostId);
  if (vm.nics.length === 0) return <p className="text-sm text-slate-500" data-testid="network-none">{vm.name} has no network adapters: nothing to map.</p>;
  const choose = (deviceKey: number, networkExternalId: string | null) => onChange(vm.nics.map((n) => (n.deviceKey === deviceKey ? { nicDeviceKey: deviceKey, networkExternalId } : (value.find((c) => c.nicDeviceKey === n.deviceKey) ?? { nicDeviceKey: n.deviceKey, networkExternalId: null }))));
  return (
    <div className="text-sm" data-testid={`network-map-${vm.name}`}>
      <div className="mb-1 font-medium text-slate-700">Network mapping (source → {hostName})</div>
      <table className="min-w-full">
        <tbody className="divide-y divide-slate-100">
          {vm.nics.map((nic) => {
            const chosen = value.find((c) => c.nicDeviceKey === nic.deviceKey)?.networkExternalId ?? null;
            return (
              <tr key={nic.deviceKey} className="align-top">
                <td className="w-56 py-1.5 pr-4">
                  <div className="font-medium">{nic.label}</div>
                  <div className="text-xs text-slate-500">{nic.adapterType} · source network {nic.networkName ?? "none"}</div>
                </td>
                <td className="py-1.5">
                  <select className="input max-w-md" value={chosen ?? ""} onChange={(e) => choose(nic.deviceKey, e.target.value || null)} aria-label={`${vm.name} ${nic.label}: network at the target`} data-testid={`network-select-${vm.name}-${nic.deviceKey}`}>
                    <option value="">Disconnected (no network)</option>
                    {onHost.map((n) => (
                      <option key={n.externalId} value={n.externalId}>
                        {n.name} · {n.vlanId === 0 ? "no VLAN" : `VLAN ${n.vlanId}`}
                        {n.name === nic.networkName ? " · same name as the source" : ""}
                      </option>
                    ))}
                  </select>
                  <div className="mt-1 text-xs text-slate-500">
                    {chosen === null ? "The replica's adapter is created disconnected: at failover the guest sees an unplugged adapter." : "At failover the replica comes up on this network."} The replica keeps the source&apos;s MAC address{site.externalId === vm.siteExternalId ? " only at another site; on this same site it gets a new one" : ""}.
                  </div>
                  {error(`${vm.externalId}.networks.${nic.deviceKey}`)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {error(`${vm.externalId}.networks.`)}
    </div>
  );
}
