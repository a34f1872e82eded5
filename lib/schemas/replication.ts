// Input schemas for replication jobs (REP-1…4), shared by the (later) wizard and the services.
// The services apply them again on the server and then check every choice against the platform.
import { z } from "zod";
import { scheduleSchema } from "./backup";
import { plainName, plainText } from "./plain-text";
import { restoreNetworkSchema } from "./restore";

const id = z.string().trim().min(1).max(200);
const bool = z.union([z.boolean(), z.enum(["true", "false", "on"]).transform((v) => v !== "false")]);

export const REPLICA_KEY_MODES = ["shared", "re-key", "unencrypted"] as const;
export const REPLICA_STATES = ["Ready", "Failover", "Failback", "PermanentFailover"] as const;
export type ReplicaStateName = (typeof REPLICA_STATES)[number];

const placementSchema = z.object({ datastoreExternalId: id, storagePolicyExternalId: id });

export const replicaVmSchema = z.object({
  vmExternalId: id,
  /** The replica VM's name and folder at the target. */
  name: plainName("replica VM", 80),
  folder: z.string().trim().min(1).max(300).regex(/^\/[^\u0000-\u001f]*$/, "A folder is a path starting with /"),
  home: placementSchema,
  disks: z.array(placementSchema.extend({ deviceKey: z.coerce.number().int().min(0).max(1_000_000) })).max(64),
  networks: z.array(restoreNetworkSchema).max(10, "A VM has at most 10 network adapters").default([]),
});
export type ReplicaVmInput = z.infer<typeof replicaVmSchema>;
/** A VM's entry in ReplicationJob.placements: the input, and the source VM's name when the job was made (a VM deleted since is still named). */
export type StoredReplicaVm = ReplicaVmInput & { sourceVmName?: string };

export const createReplicationJobSchema = z
  .object({
    name: plainName("replication job"),
    description: plainText(z.string().trim().max(500, "Use at most 500 characters")).default(""),
    vms: z.array(replicaVmSchema).min(1, "Choose at least one VM").max(50, "At most 50 VMs per replication job"),
    targetSiteExternalId: id,
    targetHostExternalId: id,
    keyMode: z.enum(REPLICA_KEY_MODES),
    targetKeyProviderExternalId: id.nullable().default(null),
    refuseUnencrypted: bool.default(false),
    keepPoints: z.coerce.number().int("Whole points only").min(1, "Keep at least 1 point").max(100, "Keep at most 100 points"),
    /** Seed each VM's first run from its newest restore point in this repository (REP-1); null: a full first run. */
    seedFromRepositoryId: z.string().trim().max(64).nullable().default(null).transform((v) => v || null),
    proxyMode: z.enum(["automatic", "manual"]).default("automatic"),
    proxyIds: z.array(z.string().trim().min(1).max(64)).max(50).default([]),
    schedule: scheduleSchema,
    enabled: bool.default(true),
  })
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.vms.forEach((vm, i) => {
      if (seen.has(vm.vmExternalId)) ctx.addIssue({ code: "custom", path: ["vms", i, "vmExternalId"], message: "This VM is already in the job" });
      seen.add(vm.vmExternalId);
    });
    if (v.keyMode !== "unencrypted" && !v.targetKeyProviderExternalId) ctx.addIssue({ code: "custom", path: ["targetKeyProviderExternalId"], message: "Choose the target site's key provider" });
    if (v.proxyMode === "manual" && v.proxyIds.length === 0) ctx.addIssue({ code: "custom", path: ["proxyIds"], message: "Choose at least one proxy" });
  });
export type CreateReplicationJobInput = z.infer<typeof createReplicationJobSchema>;

export const replicationJobIdSchema = z.object({ jobId: z.string().trim().min(1).max(64) });
export const replicaIdSchema = z.object({ replicaId: z.string().trim().min(1).max(64) });
