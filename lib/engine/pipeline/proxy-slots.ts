// Waiting for a proxy with a free task slot (TRN-6), for any disk a job reads or writes: choose a
// proxy and mode with the task counts as the gate reports them now (across every worker), claim
// one slot, and if every proxy that fits is full, say so once and try again until a slot frees or
// the job is stopped.

import type { ProxyTaskGate, ProxyTaskLease } from "./events";
import { selectProxy, type CandidateProxy, type ProxySelection, type SelectionDisk, type SelectionOptions } from "./proxy-selection";

export interface SlotEvent {
  type: "task-start" | "waiting";
  vmExternalId: string;
  deviceKey: number;
  proxyExternalId?: string;
  slot?: number;
  text: string;
}

export interface TakeProxySlotOptions {
  tasks: ProxyTaskGate;
  proxies: readonly CandidateProxy[];
  selection: SelectionOptions;
  disk: SelectionDisk;
  vmExternalId: string;
  deviceKey: number;
  signal?: AbortSignal;
  busyWaitMs?: number;
  // Typed loosely on purpose: backup and restore events both carry these two shapes.
  onEvent?: (e: never) => void;
}

export async function takeProxySlot(o: TakeProxySlotOptions) {
  const emit = o.onEvent as ((e: SlotEvent) => void) | undefined;
  let waitingSaid = false;
  for (;;) {
    o.signal?.throwIfAborted();
    const counts = await o.tasks.counts();
    const proxies = o.proxies.map((p) => ({ ...p, activeTasks: counts[p.externalId] ?? 0 }));
    const choice = selectProxy(o.disk, proxies, o.selection);
    if (choice.ok) {
      const lease: ProxyTaskLease | null = await o.tasks.take(choice.proxy, { vmExternalId: o.vmExternalId, deviceKey: o.deviceKey });
      if (lease) {
        emit?.({ type: "task-start", vmExternalId: o.vmExternalId, deviceKey: o.deviceKey, proxyExternalId: choice.proxy.externalId, slot: lease.slot, text: "" });
        return { choice, lease };
      }
    } else if (!choice.busy) {
      throw new Error(choice.reason);
    }
    if (!waitingSaid) {
      waitingSaid = true;
      emit?.({ type: "waiting", vmExternalId: o.vmExternalId, deviceKey: o.deviceKey, text: `${o.disk.label}: every proxy that can serve it is at its task limit; waiting for a free slot` });
    }
    await abortableSleep(o.busyWaitMs ?? 500, o.signal);
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A proxy and mode chosen for one disk, with its task slot held until `release()`. */
export interface ClaimedProxy {
  choice: Extract<ProxySelection, { ok: true }>;
  release(): Promise<void>;
}

export interface ClaimProxyOptions extends Omit<TakeProxySlotOptions, "tasks" | "onEvent"> {
  /** The gate across workers; without it the counts in the proxy list are used and no slot is held. */
  tasks?: ProxyTaskGate;
  onEvent?: (e: SlotEvent | { type: "task-end"; vmExternalId: string; deviceKey: number; proxyExternalId: string; slot: number; text: string }) => void;
}

/**
 * One disk's proxy for a copy between two platform disks (replication, failback): chosen and its
 * slot taken (waiting while every fitting proxy is full), released once with a "task-end" event.
 */
export async function claimProxy(o: ClaimProxyOptions): Promise<ClaimedProxy> {
  if (!o.tasks) {
    const c = selectProxy(o.disk, o.proxies, o.selection);
    if (!c.ok) throw new Error(c.reason);
    return { choice: c, release: async () => {} };
  }
  const { choice, lease } = await takeProxySlot({ ...o, tasks: o.tasks, onEvent: o.onEvent as never });
  const l: ProxyTaskLease = lease;
  return {
    choice,
    release: async () => {
      await l.release().catch(() => undefined);
      o.onEvent?.({ type: "task-end", vmExternalId: o.vmExternalId, deviceKey: o.deviceKey, proxyExternalId: choice.proxy.externalId, slot: l.slot, text: "" });
    },
  };
}
