import "server-only";
import { env } from "@/lib/config/env";
import { serializableTransaction } from "@/lib/db/transaction";

// One source VM is read by one backup or replication at a time (decision 0007): both read it
// through the VM's one backup snapshot, which the first to finish would release under the other
// (the platform refuses that while a disk is open, or the other's next disk opens a new snapshot of
// a later moment). A VM of a session is therefore claimed only while no other backup or replication
// session holds the same source VM running with a live heartbeat; the check and the claim are one
// serializable transaction, so two workers racing for the same VM cannot both win. (Two backups of
// the same VM at once keep their earlier behaviour: `blockers` says which kinds a claim waits for.)

export interface SourceVmHolder {
  sessionId: string;
  kind: string;
  title: string;
}

export type SourceVmClaim = { claimed: true } | { claimed: false; busy: SourceVmHolder | null };

/** A holder whose heartbeat is older than this is dead: its VM is taken over, never waited for. */
const staleMs = () => env.STRONGROOM_JOB_HEARTBEAT_SECONDS * 1000;

export async function claimSourceVm(o: {
  row: { id: string; attempt: number };
  vmExternalId: string;
  /** Session kinds whose running copy of this VM makes the claim wait. */
  blockers: string[];
  /** The claim's row data; heartbeatAt is the claim's moment, and so is startedAt when null. */
  data: { state: "running"; attempt: number; workerId: string; startedAt: Date | null };
}): Promise<SourceVmClaim> {
  return serializableTransaction(async (tx): Promise<SourceVmClaim> => {
    const other = await tx.sessionVm.findFirst({
      where: {
        vmExternalId: o.vmExternalId,
        id: { not: o.row.id },
        state: "running",
        heartbeatAt: { gt: new Date(Date.now() - staleMs()) },
        session: { kind: { in: o.blockers }, state: "running" },
      },
      select: { sessionId: true, session: { select: { kind: true, title: true } } },
    });
    if (other) return { claimed: false, busy: { sessionId: other.sessionId, kind: other.session.kind, title: other.session.title } };
    const now = new Date();
    const won = await tx.sessionVm.updateMany({ where: { id: o.row.id, attempt: o.row.attempt }, data: { ...o.data, heartbeatAt: now, startedAt: o.data.startedAt ?? now } });
    return won.count === 1 ? { claimed: true } : { claimed: false, busy: null };
  });
}

/** "backup session Nightly (abc…)" for a waiting line in a session log. */
export function holderText(h: SourceVmHolder): string {
  return `${h.kind === "replication" ? "a replication" : "a backup"} (${h.title || "session"} ${h.sessionId})`;
}

/**
 * Claims the VM, waiting (polling) while another session holds it: `onWait` is told once per
 * holder. Answers "stopped" when the session was stopped while it waited, "lost" when another
 * worker claimed the row first or this worker lost the job.
 */
export async function waitAndClaimSourceVm(
  o: Parameters<typeof claimSourceVm>[0] & { signal: AbortSignal; stopped: () => Promise<boolean>; onWait: (h: SourceVmHolder) => Promise<void>; pollMs?: number },
): Promise<"claimed" | "lost" | "stopped"> {
  let told: string | null = null;
  for (;;) {
    const c = await claimSourceVm(o);
    if (c.claimed) return "claimed";
    if (!c.busy) return "lost";
    if (told !== c.busy.sessionId) {
      told = c.busy.sessionId;
      await o.onWait(c.busy);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 2_000));
    if (o.signal.aborted) return "lost";
    if (await o.stopped()) return "stopped";
  }
}
