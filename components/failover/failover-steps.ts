import type { LogLine } from "@/lib/jobs/session-progress";

// The steps of one failover session in words (FOV-1), read from the session's log as the
// failover job writes it (lib/services/failover/run-failover.ts): each step is done once its line
// is logged; the first step not done is running while the session runs, failed when it failed.

export type StepState = "done" | "running" | "failed" | "pending" | "skipped";

interface StepDef {
  label: string;
  done: RegExp;
  /** Optional steps (the networks of a VM with no adapter, the power-off of a VM already off) count as skipped once a later one is done. */
  optional?: boolean;
}

const FAILOVER: StepDef[] = [
  { label: "Pre-failover check, again before anything changes", done: /^Check: go\./ },
  { label: "Revert the replica to the chosen point", done: /^Reverted .* to its point of/ },
  { label: "Connect the network adapters as the job maps them", done: /^Networks connected/, optional: true },
  { label: "Power the replica on at the DR site", done: /powered on at the DR site/ },
];

const STEPS: Record<string, StepDef[]> = {
  failover: FAILOVER,
  planned: [
    { label: "Sync while the source VM runs", done: /^Sync 1 done/ },
    { label: "Power the source VM off at the production site", done: /powered off at the production site|was already powered off/ },
    { label: "Final sync: the source VM's last writes", done: /^Final sync done/ },
    ...FAILOVER,
  ],
  undo: [
    { label: "Power the failed-over VM off", done: /powered off\.$/, optional: true },
    { label: "Revert it to the failover point: discard what it wrote", done: /^Reverted to the failover point/ },
    { label: "The replica is Ready: replication resumes", done: /is Ready: replication may run again/ },
  ],
  permanent: [
    { label: "Commit the replica points (the VM keeps running)", done: /point\(s\) of .* committed/ },
    { label: "Drop the source VM from the replication job", done: /is no longer in the replication job/ },
  ],
  // Failback (FBK-1), as lib/services/failback/run-failback.ts logs it.
  failback: [
    { label: "Power the replica off at the DR site: nothing it writes later is lost", done: /powered off at the DR site: everything it wrote is failed back/, optional: true },
    { label: "Ship the replica's data to the production site", done: /block\(s\) shipped/ },
    { label: "Power the failed-back VM on at the production site", done: /^The failed-back VM .* powered on at the production site/ },
  ],
  "commit-failback": [
    { label: "Production is the source again", done: /is production again;|is the replication job's source VM now/ },
  ],
  "undo-failback": [
    { label: "Power the failed-back VM off (a VM the failback made is deleted)", done: /^The failed-back VM .* powered off|^The VM the failback made .* is deleted/, optional: true },
    { label: "Power the replica on again at the DR site", done: /powered on again at the DR site: it is production again/, optional: true },
    { label: "The replica is failed over again: it is production", done: /is failed over again; fail it back again/ },
  ],
};

export function failoverSteps(action: string, log: LogLine[], sessionState: string): Array<{ label: string; state: StepState }> {
  const defs = STEPS[action] ?? [];
  const done = defs.map((d) => log.some((l) => d.done.test(l.text)));
  const lastDone = done.lastIndexOf(true);
  let current = false;
  return defs.map((d, i) => {
    if (done[i]) return { label: d.label, state: "done" };
    if (i < lastDone && d.optional) return { label: d.label, state: "skipped" };
    if (current) return { label: d.label, state: "pending" };
    current = true;
    if (sessionState === "running" || sessionState === "queued") return { label: d.label, state: sessionState === "queued" ? "pending" : "running" };
    if (sessionState === "failed") return { label: d.label, state: "failed" };
    return { label: d.label, state: d.optional ? "skipped" : "pending" };
  });
}
