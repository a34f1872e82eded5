"use client";
import { Badge } from "@/components/ui/badge";
import { formatBytes } from "@/lib/format";
import { datastoreRefusal, type PlacementDatastore } from "@/lib/restore/placement";

// A datastore picker as a tree (INV-3, RST-3, REP-3): datastores compatible with a storage policy
// that encrypts sit under the "VM Encryption Policy" node, the others under their own node. Every
// datastore is shown; one that cannot take the item (an encrypted item outside the policy node,
// not enough space) is disabled with the reason beside it. Shared by the restore and replication
// wizards.

export interface TreeDatastore extends PlacementDatastore {
  type: string;
}

export function DatastoreTree(props: {
  /** The radio group's name (unique per item on the page). */
  name: string;
  label: string;
  datastores: readonly TreeDatastore[];
  what: "home" | "disk";
  encrypted: boolean;
  bytes: number;
  value: string;
  onChange: (id: string) => void;
  /** Marks a datastore ("at backup", "source"), e.g. where the item was. */
  mark?: { externalId: string; text: string };
  /** Replaces the rule (datastoreRefusal): why a datastore cannot take the item, null when it can. */
  refusalFor?: (ds: TreeDatastore) => string | null;
  /** Refused datastores stay clickable: the choice is taken and refused with its reason (the step blocks Next). */
  refusedSelectable?: boolean;
}) {
  const groups = [
    { key: "encryption", label: "VM Encryption Policy", rows: props.datastores.filter((d) => d.encryptionCompatible) },
    { key: "other", label: "Other datastores (unencrypted items only)", rows: props.datastores.filter((d) => !d.encryptionCompatible) },
  ];
  return (
    <div className="mt-2 rounded border border-slate-100" role="radiogroup" aria-label={props.label}>
      {groups.map((g) => (
        <div key={g.key} data-testid={g.key === "encryption" ? "node-encryption" : "node-other"}>
          <div className={`bg-slate-50 px-2 py-1 text-xs font-semibold ${g.key === "encryption" ? "text-violet-800" : "text-slate-600"}`}>{g.label}</div>
          {g.rows.length === 0 && <div className="px-6 py-1 text-xs text-slate-500">None on this site.</div>}
          {g.rows.map((d) => {
            const refusal = props.refusalFor ? props.refusalFor(d) : datastoreRefusal(d, props.what, props.encrypted, props.bytes);
            const chosen = props.value === d.externalId;
            return (
              <label key={d.externalId} className={`flex flex-wrap items-center gap-x-3 px-6 py-1 text-sm ${refusal && !chosen ? "text-slate-400" : ""} ${chosen ? "bg-brand-50" : ""}`} data-testid="ds-option" data-ds={d.name} data-disabled={refusal ? "yes" : "no"}>
                <input type="radio" name={props.name} value={d.externalId} checked={chosen} disabled={!!refusal && !props.refusedSelectable} onChange={() => props.onChange(d.externalId)} />
                <span className="w-44 font-medium">{d.name}</span>
                <span className="w-14 text-xs">{d.type}</span>
                <span className="w-32 text-xs tabular-nums">{formatBytes(d.freeBytes)} free</span>
                {props.mark && d.externalId === props.mark.externalId && <Badge tone="info">{props.mark.text}</Badge>}
                {refusal && <span className="text-xs" data-testid="ds-why">{refusal}</span>}
              </label>
            );
          })}
        </div>
      ))}
    </div>
  );
}
