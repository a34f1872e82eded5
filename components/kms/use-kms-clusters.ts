"use client";
import { useQuery } from "@tanstack/react-query";
import type { KmsClusterDto } from "@/lib/services/kms/kms-cluster-dto";

/** Live KMS status for the browser: polled, so a KMS going down shows without a reload. */
export function useKmsClusters(initialData?: KmsClusterDto[]) {
  return useQuery({
    queryKey: ["kms-clusters"],
    initialData,
    refetchInterval: 5_000,
    queryFn: async (): Promise<KmsClusterDto[]> => {
      const res = await fetch("/api/kms-clusters");
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
      return body;
    },
  });
}
