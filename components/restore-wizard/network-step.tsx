"use client";
// The restore wizard's "Network" step: each network adapter the restore point recorded, mapped to a
// port group of the target host or left disconnected (lib/platform/network-mapping.ts holds the
// rules the server applies again). Also the step's errors and its lines in the summary.
import { Badge } from "@/components/ui/badge";
import { networkMappingProblems, networksOnHost, type NetworkChoice } from "@/lib/platform/network-mapping";
import type { RestoreOptionNic, RestoreOptionSite } from "@/lib/services/restore/get-restore-options";

interface PointNics {
  nics: RestoreOptionNic[];
  nicsRecorded: boolean;
}

const DISCONNECTED = "";

/** The step's problems by field ("networks.4000"), for Next to be blocked with the reason. */
export function networkStepErrors(vm: PointNics, site: RestoreOptionSite, hostExternalId: string, networks: readonly NetworkChoice[]): Record<string, string> {
  const host = site.hosts.find((h) => h.externalId === hostExternalId);
  const out: Record<string, string> = {};
  for (const p of networkMappingProblems(vm.nics, networks, site.networks, hostExternalId, host?.name ?? "the target host")) out[p.nicDeviceKey === null ? "networks" : `networks.${p.nicDeviceKey}`] ??= p.message;
  return out;
}

export function NetworkStep(props: {
  vm: PointNics;
  site: RestoreOptionSite;
  hostExternalId: string;
  networks: NetworkChoice[];
  onChange: (networks: NetworkChoice[]) => void;
  error: (field: string) => React.ReactNode;
}) {
  const { vm, site, hostExternalId, networks } = props;
  const host = site.hosts.find((h) => h.externalId === hostExternalId);
  const onHost = networksOnHost(site.networks, hostExternalId);
  const elsewhere = site.networks.filter((n) => !n.hostExternalIds.includes(hostExternalId));
  const hostName = host?.name ?? "the target host";

  if (!vm.nicsRecorded) {
    return (
      <p className="max-w-3xl rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="network-not-recorded">
        This restore point was made before Strongroom recorded network adapters, so it does not say which adapters the VM had. The VM is restored <strong>without network adapters</strong>: add them in vSphere after the restore.
      </p>
    );
  }
  if (vm.nics.length === 0) {
    return (
      <p className="max-w-3xl rounded-md bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="network-none">
        The VM had no network adapters when it was backed up, so there is nothing to map.
      </p>
    );
  }

  const choose = (deviceKey: number, networkExternalId: string | null) => {
    const rest = networks.filter((c) => c.nicDeviceKey !== deviceKey);
    const next = vm.nics.map((n) => (n.deviceKey === deviceKey ? { nicDeviceKey: deviceKey, networkExternalId } : (rest.find((c) => c.nicDeviceKey === n.deviceKey) ?? { nicDeviceKey: n.deviceKey, networkExternalId: null })));
    props.onChange(next);
  };

  return (
    <div className="max-w-4xl space-y-3 text-sm" data-testid="network-step">
      <p className="text-slate-600">
        Connect each network adapter to a network (port group) of <strong>{hostName}</strong>, or leave it <strong>disconnected</strong>. Each adapter starts on the network of the same name on that host when it has one, and disconnected otherwise, so the restored VM never comes up on a network nobody chose. The adapters keep their type and get new MAC addresses, so they do not clash with the original VM&apos;s.
      </p>
      <table className="min-w-full text-sm" data-testid="network-map">
        <thead>
          <tr className="text-left text-xs uppercase tracking-wide text-slate-500">
            <th className="pb-1 pr-4 font-semibold">Adapter</th>
            <th className="pb-1 pr-4 font-semibold">At backup</th>
            <th className="pb-1 font-semibold">Restored to</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {vm.nics.map((nic) => {
            const value = networks.find((c) => c.nicDeviceKey === nic.deviceKey)?.networkExternalId ?? null;
            const chosen = site.networks.find((n) => n.externalId === value);
            const sameName = chosen && chosen.name === nic.networkName;
            return (
              <tr key={nic.deviceKey} className="align-top" data-testid={`network-nic-${nic.deviceKey}`}>
                <td className="py-2 pr-4">
                  <div className="font-medium text-slate-900">{nic.label}</div>
                  <div className="text-xs text-slate-500">
                    {nic.adapterType} · <code>{nic.macAddress}</code>
                  </div>
                </td>
                <td className="py-2 pr-4">
                  {nic.networkName ?? <span className="text-slate-500">no network</span>}
                  {!nic.connected && (
                    <span className="ml-2">
                      <Badge>not connected</Badge>
                    </span>
                  )}
                </td>
                <td className="py-2">
                  <select
                    className="input max-w-md"
                    value={value ?? DISCONNECTED}
                    onChange={(e) => choose(nic.deviceKey, e.target.value === DISCONNECTED ? null : e.target.value)}
                    aria-label={`${nic.label}: network`}
                    data-testid={`network-select-${nic.deviceKey}`}
                  >
                    <option value={DISCONNECTED}>Disconnected (no network)</option>
                    <optgroup label={`Networks of ${hostName}`}>
                      {onHost.map((n) => (
                        <option key={n.externalId} value={n.externalId}>
                          {n.name} · {n.vlanId === 0 ? "no VLAN" : `VLAN ${n.vlanId}`}
                          {n.name === nic.networkName ? " · same name as at backup" : ""}
                        </option>
                      ))}
                    </optgroup>
                    {elsewhere.length > 0 && (
                      <optgroup label={`Not on ${hostName} (other hosts of ${site.name})`}>
                        {elsewhere.map((n) => (
                          <option key={n.externalId} value={n.externalId} disabled>
                            {n.name} · not on this host
                          </option>
                        ))}
                      </optgroup>
                    )}
                  </select>
                  <div className="mt-1 text-xs text-slate-500" data-testid={`network-hint-${nic.deviceKey}`}>
                    {value === null
                      ? nic.networkName && !onHost.some((n) => n.name === nic.networkName)
                        ? `${hostName} has no network named ${nic.networkName}: the adapter is created disconnected unless you choose one.`
                        : "Created disconnected: the guest sees an unplugged adapter."
                      : sameName
                        ? "Same network name as at backup."
                        : `Moved from ${nic.networkName ?? "no network"}.`}
                    {value !== null && !nic.connected ? " Not connected at backup, so it stays unplugged." : ""}
                  </div>
                  {props.error(`networks.${nic.deviceKey}`)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.error("networks")}
    </div>
  );
}

/** The mapping in the summary: one line per adapter. */
export function NetworkSummary({ vm, site, networks }: { vm: PointNics; site: RestoreOptionSite; networks: readonly NetworkChoice[] }) {
  return (
    <>
      <dt className="text-slate-500">Network</dt>
      <dd data-testid="summary-network">
        {!vm.nicsRecorded ? (
          "No network adapters (the point did not record them)"
        ) : vm.nics.length === 0 ? (
          "No network adapters"
        ) : (
          <ul className="space-y-0.5">
            {vm.nics.map((nic) => {
              const id = networks.find((c) => c.nicDeviceKey === nic.deviceKey)?.networkExternalId ?? null;
              const net = site.networks.find((n) => n.externalId === id);
              return (
                <li key={nic.deviceKey}>
                  {nic.label} ({nic.networkName ?? "no network"}) → {net ? <strong>{net.name}</strong> : <strong>disconnected</strong>}
                </li>
              );
            })}
          </ul>
        )}
      </dd>
    </>
  );
}
