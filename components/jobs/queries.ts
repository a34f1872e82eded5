"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ApiError } from "@/components/backup/queries";
import type { SessionPageDto } from "@/lib/services/jobs/list-sessions";
import type { WorkersDto } from "@/lib/services/jobs/list-workers";

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.error ?? `The server answered ${res.status}.`, res.status);
  return body as T;
}

/** Live while anything is queued or running (every 2 s); otherwise a slow look for new sessions. */
export const ACTIVE_POLL_MS = 2_000;
const IDLE_POLL_MS = 15_000;

/** One page of sessions for the filters in `search` (the address's query string). */
export function useSessions(search: string, initialData: SessionPageDto | undefined, enabled: boolean) {
  return useQuery({
    queryKey: ["job-sessions", search],
    initialData,
    enabled,
    staleTime: 0,
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data && q.state.data.activeCount > 0 ? ACTIVE_POLL_MS : IDLE_POLL_MS),
    queryFn: () => getJson<SessionPageDto>(`/api/jobs/sessions${search ? `?${search}` : ""}`),
  });
}

/** Workers and proxy slots: every 2 s while any worker runs something, else every 5 s (a death shows within one beat). */
export function useWorkers(initialData: WorkersDto) {
  return useQuery({
    queryKey: ["job-workers"],
    initialData,
    staleTime: 0,
    refetchInterval: (q) => (q.state.data?.workers.some((w) => w.tasks.length > 0) ? ACTIVE_POLL_MS : 5_000),
    queryFn: () => getJson<WorkersDto>("/api/jobs/workers"),
  });
}
