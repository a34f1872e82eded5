"use client";
import { useQuery } from "@tanstack/react-query";
import type { JobSessionDto } from "@/lib/services/backup/get-job-session";
import type { JobSummaryDto } from "@/lib/services/backup/job-dto";
import type { JobDetailDto } from "@/lib/services/backup/list-backup-jobs";
import type { RepositoryDetailDto } from "@/lib/services/backup/list-repositories";

/** A JSON API answer, or an Error with the server's message (and its status, for 404s). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.error ?? `The server answered ${res.status}.`, res.status);
  return body as T;
}

/** The object is missing or not for this user: asking again will not change that. */
export const isGone = (e: unknown) => e instanceof ApiError && (e.status === 404 || e.status === 403 || e.status === 400);
const retry = (count: number, e: Error) => !isGone(e) && count < 2;

/** Every job with its last and active session; polled so results and "Running…" show live. */
export function useBackupJobs(initialData?: JobSummaryDto[]) {
  return useQuery({ queryKey: ["backup-jobs"], initialData, refetchInterval: 3_000, staleTime: 0, retry, queryFn: () => getJson<JobSummaryDto[]>("/api/jobs") });
}

/** One job; polled faster while a session is queued or running. */
export function useBackupJob(jobId: string, initialData?: JobDetailDto) {
  return useQuery({
    queryKey: ["backup-job", jobId],
    initialData,
    staleTime: 0,
    retry,
    refetchInterval: (q) => (q.state.data?.activeSession ? 1_500 : 5_000),
    queryFn: () => getJson<JobDetailDto>(`/api/jobs/${encodeURIComponent(jobId)}`),
  });
}

const ENDED = new Set(["success", "warning", "failed", "stopped"]);

/** One session, every second while it is queued or running; polling stops once it has ended. */
export function useJobSession(sessionId: string, initialData?: JobSessionDto) {
  return useQuery({
    queryKey: ["job-session", sessionId],
    initialData,
    staleTime: 0,
    retry,
    refetchInterval: (q) => (isGone(q.state.error) || (q.state.data && ENDED.has(q.state.data.state)) ? false : q.state.error ? 3_000 : 1_000),
    refetchOnWindowFocus: (q) => !(q.state.data && ENDED.has(q.state.data.state)),
    queryFn: () => getJson<JobSessionDto>(`/api/sessions/${encodeURIComponent(sessionId)}`),
  });
}

/** One repository; every second while a verify runs, otherwise only when asked. */
export function useBackupRepository(repositoryId: string, initialData?: RepositoryDetailDto) {
  return useQuery({
    queryKey: ["backup-repository", repositoryId],
    initialData,
    staleTime: 0,
    retry,
    refetchInterval: (q) => (q.state.data?.verifyRunning ? 1_000 : false),
    queryFn: () => getJson<RepositoryDetailDto>(`/api/repositories/${encodeURIComponent(repositoryId)}`),
  });
}
