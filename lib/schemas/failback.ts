// Input schemas for failback (FBK-1), shared by the (later) wizard and the services, which apply
// them again on the server and then check every choice against the production site.
import { z } from "zod";
import { plainName, plainText } from "./plain-text";

const id = z.string().trim().min(1).max(200);
const replicaId = z.string().trim().min(1, "Choose a replica").max(64);
const placementSchema = z.object({ datastoreExternalId: id, storagePolicyExternalId: id });

export const failbackDestinationSchema = z.discriminatedUnion("kind", [
  /** The original VM, shipping only the changes. */
  z.object({ kind: z.literal("original") }),
  /** The original restored in another location: an existing production VM, compared block by block. */
  z.object({ kind: z.literal("restored-vm"), vmExternalId: id }),
  /** A new VM at the production site: a full copy. */
  z.object({
    kind: z.literal("new-vm"),
    hostExternalId: id,
    name: plainName("VM", 80),
    folder: z.string().trim().min(1).max(300).regex(/^\/[^\u0000-\u001f]*$/, "A folder is a path starting with /").default("/Failback"),
    home: placementSchema,
    disks: z.array(placementSchema.extend({ deviceKey: z.coerce.number().int().min(0).max(1_000_000) })).min(1, "Choose a datastore for every disk").max(64),
    /** The production key provider of the new VM's key; omitted: the original VM's. */
    keyProviderExternalId: id.optional(),
  }),
]);
export type FailbackDestinationInput = z.infer<typeof failbackDestinationSchema>;

const reason = plainText(z.string().trim().min(3, "Say why (it is kept in the session and the audit log)").max(500, "Use at most 500 characters"));

export const startFailbackSchema = z.object({ replicaId, destination: failbackDestinationSchema, reason });
export const commitFailbackSchema = z.object({ replicaId, reason });
export const undoFailbackSchema = z.object({ replicaId, reason });
