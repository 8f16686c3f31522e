// The one registry of run kinds and their policy: what the console calls them,
// which kinds exclude each other on a topology, whether a run may be carried on
// by another worker after its worker died, and whether it can be retried.
// Data only, no imports: the console reads the labels from here too.
// Adding a kind means adding it here (and its handler in workers/kinds).

export interface RunKindPolicy {
  /** How the console names the kind. */
  label: string;
  /** Runs of this kind may work on one topology (they carry its id). */
  topology: boolean;
  /**
   * At most one exclusive run (queued, running or awaiting confirmation) per
   * topology: these kinds change the servers, so two of them would fight.
   * Non-exclusive kinds (a plan only reads) never conflict.
   */
  exclusive: boolean;
  /**
   * true: after its worker died, the next worker carries the run on (the kind
   * re-observes, or its phases are idempotent). false: a takeover during a phase
   * ends the run failed with its journal, because the phase may be half done.
   * A kind that is not resumable records its phases in the journal: between two
   * phases nothing is half done, so a takeover there carries on.
   */
  resumable: boolean;
  /** For a kind that does not resume: what the operator should check before starting it again. */
  checkBeforeRestart?: string;
  /** A failed, cancelled or partially applied run can be started again as a new run. */
  retryable: boolean;
  /** The run computes a topology plan, shown on its page. */
  showsPlan: boolean;
  /** Only demonstrates the run machinery; changes nothing. */
  sample: boolean;
}

export const RUN_KIND_POLICIES = {
  "system-check": {
    label: "System check",
    topology: false,
    exclusive: false,
    // It only reads Rampart's own state: starting over is harmless.
    resumable: true,
    retryable: true,
    showsPlan: false,
    sample: false,
  },
  "server-check": {
    label: "Server check",
    topology: false,
    exclusive: false,
    // Reads facts and appends a line to each host's audit log: harmless to repeat.
    resumable: true,
    retryable: true,
    showsPlan: false,
    sample: false,
  },
  "topology-plan": {
    label: "Topology plan",
    topology: true,
    exclusive: false,
    resumable: true,
    retryable: true,
    showsPlan: true,
    sample: false,
  },
  "topology-apply": {
    label: "Topology apply",
    topology: true,
    exclusive: true,
    // It re-observes every host first, so steps already done plan nothing.
    resumable: true,
    retryable: true,
    showsPlan: true,
    sample: false,
  },
  "certificate-order": {
    label: "Certificate order (ACME)",
    topology: true,
    // Its last phase applies the topology (deploys the new certificate).
    exclusive: true,
    // Ordering again is harmless (the CA reuses valid authorizations), a certificate is
    // stored only once issued, and the deploy re-observes like any apply.
    resumable: true,
    retryable: true,
    showsPlan: true,
    sample: false,
  },
  "db-promote": {
    label: "Database promotion",
    topology: true,
    // It changes which server takes writes, then applies the topology.
    exclusive: true,
    // A phase cut short may be half done (a fence, a promotion): the operator decides.
    resumable: false,
    checkBeforeRestart:
      "the run's journal. Before 'change roles' is done, the old primary may be fenced (read-only, the app's accounts locked) and still named primary: apply the topology to reopen it, or start the promotion again. Once 'change roles' is done, the topology names the candidate primary: apply the topology to finish (the candidate is promoted, the app switched, the old primary loaded as a replica). Either way one server is writable afterwards",
    retryable: true,
    showsPlan: true,
    sample: false,
  },
  "sample-operation": {
    label: "Sample operation (resumable)",
    topology: true,
    exclusive: true,
    resumable: true,
    retryable: true,
    showsPlan: false,
    sample: true,
  },
  "sample-operation-strict": {
    label: "Sample operation (does not resume)",
    topology: true,
    exclusive: true,
    resumable: false,
    checkBeforeRestart: "nothing (it is a sample that changes nothing)",
    retryable: true,
    showsPlan: false,
    sample: true,
  },
} as const satisfies Record<string, RunKindPolicy>;

export type RunKindName = keyof typeof RUN_KIND_POLICIES;
export const RUN_KIND_NAMES = Object.keys(RUN_KIND_POLICIES) as [RunKindName, ...RunKindName[]];

export const isRunKind = (kind: string): kind is RunKindName => Object.hasOwn(RUN_KIND_POLICIES, kind);

/** The policy of a kind, or null for a kind this version does not know (an old run's). */
export function runKindPolicy(kind: string): RunKindPolicy | null {
  return isRunKind(kind) ? RUN_KIND_POLICIES[kind] : null;
}

/** A run kind as people read it ("topology-apply" → "Topology apply"). */
export function runKindLabel(kind: string): string {
  return runKindPolicy(kind)?.label ?? kind;
}

/** The kinds whose active runs on the same topology stop a run of `kind` from starting. */
export function conflictingKinds(kind: string): RunKindName[] {
  const policy = runKindPolicy(kind);
  if (!policy?.topology || !policy.exclusive) return [];
  return RUN_KIND_NAMES.filter((k) => RUN_KIND_POLICIES[k].topology && RUN_KIND_POLICIES[k].exclusive);
}

/** Why a run of a kind that does not resume was stopped when another worker found it mid-phase. */
export function interruptedReason(kind: string, phase: string): string {
  const check = runKindPolicy(kind)?.checkBeforeRestart ?? "what it had started to change";
  return `the worker stopped during phase '${phase}'; this kind does not resume (it may have half-done work): check ${check} and start again`;
}
