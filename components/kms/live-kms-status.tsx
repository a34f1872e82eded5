"use client";
import { KmsStatusBadge } from "./kms-status-badge";
import { useKmsClusters } from "./use-kms-clusters";

/** A cluster's status from the shared live query, so every place on a page agrees. */
export function LiveKmsStatus({ clusterId, initial }: { clusterId: string; initial: { status: string; unreachableSince: string | null } }) {
  const q = useKmsClusters();
  const c = q.data?.find((x) => x.id === clusterId) ?? initial;
  return <KmsStatusBadge status={c.status} unreachableSince={c.unreachableSince} />;
}
