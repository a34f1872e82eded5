import "server-only";
import { describeSchedule } from "@/lib/backup/schedule";
import { scheduleSchema, selectionItemSchema, type Schedule, type SelectionItem } from "@/lib/schemas/backup";
import { z } from "zod";

export interface JobSummaryDto {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  repository: { id: string; name: string };
  retentionPoints: number;
  encryptionMode: "password" | "kms" | "off";
  schedule: Schedule;
  scheduleText: string;
  nextRunAt: string | null;
  selection: SelectionItem[];
  lastSession: { id: string; state: string; queuedAt: string; endedAt: string | null } | null;
  activeSession: { id: string; state: string } | null;
  restorePointCount: number;
}

export function parseSchedule(json: string): Schedule {
  const r = scheduleSchema.safeParse(JSON.parse(json));
  return r.success ? r.data : { kind: "manual" };
}

export function parseSelection(json: string): SelectionItem[] {
  const r = z.array(selectionItemSchema).safeParse(JSON.parse(json));
  return r.success ? r.data : [];
}

export function parseIds(json: string): string[] {
  const r = z.array(z.string()).safeParse(JSON.parse(json));
  return r.success ? r.data : [];
}

export const ACTIVE_STATES = ["queued", "running"] as const;

export function toJobSummaryDto(j: {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  repository: { id: string; name: string };
  retentionPoints: number;
  encryptionMode: string;
  schedule: string;
  nextRunAt: Date | null;
  selection: string;
  sessions: Array<{ id: string; state: string; queuedAt: Date; endedAt: Date | null }>;
  _count: { restorePoints: number };
}): JobSummaryDto {
  const schedule = parseSchedule(j.schedule);
  const last = j.sessions.find((s) => !(ACTIVE_STATES as readonly string[]).includes(s.state)) ?? null;
  const active = j.sessions.find((s) => (ACTIVE_STATES as readonly string[]).includes(s.state)) ?? null;
  return {
    id: j.id,
    name: j.name,
    description: j.description,
    enabled: j.enabled,
    repository: j.repository,
    retentionPoints: j.retentionPoints,
    encryptionMode: j.encryptionMode as JobSummaryDto["encryptionMode"],
    schedule,
    scheduleText: describeSchedule(schedule),
    nextRunAt: j.enabled && j.nextRunAt ? j.nextRunAt.toISOString() : null,
    selection: parseSelection(j.selection),
    lastSession: last && { id: last.id, state: last.state, queuedAt: last.queuedAt.toISOString(), endedAt: last.endedAt?.toISOString() ?? null },
    activeSession: active && { id: active.id, state: active.state },
    restorePointCount: j._count.restorePoints,
  };
}

export const jobSummaryInclude = {
  repository: { select: { id: true, name: true } },
  sessions: { orderBy: { queuedAt: "desc" as const }, take: 5, select: { id: true, state: true, queuedAt: true, endedAt: true } },
  _count: { select: { restorePoints: { where: { status: { not: "removed" } } } } },
};
