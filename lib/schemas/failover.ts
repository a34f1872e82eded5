// Input schemas for failover (FOV-1), shared by the (later) wizard and the services, which apply
// them again on the server.
import { z } from "zod";
import { plainText } from "./plain-text";

const id = z.string().trim().min(1, "Choose a replica").max(64);
const reason = plainText(z.string().trim().min(3, "Say why you fail over (it is kept in the session and the audit log)").max(500, "Use at most 500 characters"));

/** One replica and the point to fail over to (omitted: its newest point). */
export const failoverTargetSchema = z.object({ replicaId: id, pointId: z.string().trim().min(1).max(64).optional() });
export type FailoverTarget = z.infer<typeof failoverTargetSchema>;

export const checkFailoverSchema = z.object({ replicas: z.array(failoverTargetSchema).min(1, "Choose at least one replica").max(50, "At most 50 replicas at once") });

export const startFailoverSchema = failoverTargetSchema.extend({ reason });
export const undoFailoverSchema = z.object({ replicaId: id, reason });
export const permanentFailoverSchema = z.object({ replicaId: id, reason });
/** Planned failover: the point is the one its final sync makes. */
export const plannedFailoverSchema = z.object({ replicaId: id, reason });
