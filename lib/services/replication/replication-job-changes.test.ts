// What an edit of a replication job changes (SEC-2, REP-2…4): which VMs' replicas start a new
// chain, which changes weaken the replicas' keys, and the changed fields in words.
import { describe, expect, it } from "vitest";
import type { CreateReplicationJobInput, ReplicaVmInput } from "@/lib/schemas/replication";
import type { ReplicationJob } from "@/prisma/generated/sqlite/client";
import { chainPlan, changedFields, weakenings } from "./replication-job-changes";

const place = { datastoreExternalId: "ds-1", storagePolicyExternalId: "pol-enc" };
const vm = (id: string, over: Partial<ReplicaVmInput> = {}): ReplicaVmInput => ({ vmExternalId: id, name: `${id}_replica`, folder: "/Replicas", home: place, disks: [{ deviceKey: 2000, ...place }], networks: [], ...over });

const input = (over: Partial<CreateReplicationJobInput> = {}): CreateReplicationJobInput => ({
  name: "Acme to DR",
  description: "",
  vms: [vm("vm-1"), vm("vm-2")],
  targetSiteExternalId: "site-dr",
  targetHostExternalId: "host-dr-1",
  keyMode: "re-key",
  targetKeyProviderExternalId: "kp-dr",
  refuseUnencrypted: true,
  keepPoints: 3,
  proxyMode: "automatic",
  proxyIds: [],
  schedule: { kind: "hourly", everyHours: 4 },
  enabled: true,
  seedFromRepositoryId: null,
  ...over,
});

function row(i: CreateReplicationJobInput): ReplicationJob {
  return {
    id: "rj-1",
    name: i.name,
    description: i.description,
    enabled: i.enabled,
    vmExternalIds: JSON.stringify(i.vms.map((v) => v.vmExternalId)),
    targetSiteExternalId: i.targetSiteExternalId,
    targetHostExternalId: i.targetHostExternalId,
    placements: JSON.stringify(Object.fromEntries(i.vms.map((v) => [v.vmExternalId, v]))),
    keyMode: i.keyMode,
    targetKeyProviderExternalId: i.targetKeyProviderExternalId,
    refuseUnencrypted: i.refuseUnencrypted,
    seedFromRepositoryId: i.seedFromRepositoryId,
    keepPoints: i.keepPoints,
    proxyMode: i.proxyMode,
    proxyIds: JSON.stringify(i.proxyIds),
    schedule: JSON.stringify(i.schedule),
    nextRunAt: null,
    createdById: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
}

const encrypted = (id: string) => id !== "vm-plain";

describe("chainPlan", () => {
  it("keeps every chain for changes of name, schedule, points and refuse-unencrypted", () => {
    const p = chainPlan(row(input()), input({ name: "Renamed", keepPoints: 9, schedule: { kind: "manual" }, refuseUnencrypted: false }));
    expect(p).toMatchObject({ kept: ["vm-1", "vm-2"], restarted: [], added: [], removed: [], why: "" });
  });
  it("restarts every VM's chain for a key mode, key provider, site or host change", () => {
    expect(chainPlan(row(input()), input({ keyMode: "unencrypted", targetKeyProviderExternalId: null }))).toMatchObject({ restarted: ["vm-1", "vm-2"], why: "the key mode changes to Unencrypted replica" });
    expect(chainPlan(row(input()), input({ targetKeyProviderExternalId: "kp-dr-2" })).why).toBe("the target key provider changes to kp-dr-2");
    expect(chainPlan(row(input()), input({ targetHostExternalId: "host-dr-2" })).why).toBe("the target host changes");
  });
  it("restarts only the VM whose placement changed; added and removed VMs are said", () => {
    const p = chainPlan(row(input()), input({ vms: [vm("vm-1", { disks: [{ deviceKey: 2000, datastoreExternalId: "ds-2", storagePolicyExternalId: "pol-enc" }] }), vm("vm-3")] }));
    expect(p).toMatchObject({ kept: [], restarted: ["vm-1"], added: ["vm-3"], removed: ["vm-2"], why: "the placement of vm-1 changes" });
  });
});

describe("weakenings (SEC-2)", () => {
  it("re-key → shared keys", () => {
    expect(weakenings(row(input()), input({ keyMode: "shared" }), encrypted)).toEqual([{ field: "Replica keys", from: "New key at the target", to: "Shared keys (the source's key)" }]);
  });
  it("no longer refusing unencrypted replicas, when the job has an encrypted VM", () => {
    expect(weakenings(row(input()), input({ refuseUnencrypted: false }), encrypted)).toEqual([{ field: "Unencrypted replicas of encrypted VMs", from: "Refused", to: "Allowed" }]);
    expect(weakenings(row(input({ vms: [vm("vm-plain")] })), input({ vms: [vm("vm-plain")], refuseUnencrypted: false }), encrypted)).toEqual([]);
  });
  it("an unencrypted replica for an encrypted VM: the mode turned unencrypted, or an encrypted VM added to an unencrypted job", () => {
    expect(weakenings(row(input({ refuseUnencrypted: false })), input({ keyMode: "unencrypted", targetKeyProviderExternalId: null, refuseUnencrypted: false }), encrypted)).toHaveLength(1);
    const plainJob = input({ keyMode: "unencrypted", targetKeyProviderExternalId: null, refuseUnencrypted: false, vms: [vm("vm-plain")] });
    expect(weakenings(row(plainJob), { ...plainJob, vms: [vm("vm-plain"), vm("vm-1")] }, encrypted)[0].to).toContain("vm-1");
    expect(weakenings(row(plainJob), { ...plainJob, keepPoints: 7 }, encrypted)).toEqual([]);
  });
  it("strengthening is never a request", () => {
    expect(weakenings(row(input({ keyMode: "shared", refuseUnencrypted: false })), input({ keyMode: "re-key", refuseUnencrypted: true }), encrypted)).toEqual([]);
  });
});

describe("changedFields", () => {
  it("names each changed field with before and after, in words", () => {
    const d = changedFields(row(input()), input({ keepPoints: 5, schedule: { kind: "daily", time: "22:00", days: [1, 2, 3, 4, 5] }, keyMode: "shared" }), (id) => id.toUpperCase());
    expect(d).toEqual([
      { field: "Replica keys", from: "New key at the target", to: "Shared keys (the source's key)" },
      { field: "Points to keep", from: "3", to: "5" },
      { field: "Schedule", from: "Every 4 hours", to: "Weekdays at 22:00" },
    ]);
    expect(changedFields(row(input()), input(), (id) => id)).toEqual([]);
  });
});
