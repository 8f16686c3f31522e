// The registry of run kinds: every kind the worker knows has a policy, exclusion
// is symmetric and only between kinds that change a topology's servers, and the
// statuses and reasons operators read are the ones documented.
import { describe, expect, it } from "vitest";
import { RUN_KIND_NAMES, RUN_KIND_POLICIES, conflictingKinds, interruptedReason, isRunKind, runKindLabel, runKindPolicy } from "@/server/schemas/run-kinds";
import { ACTIVE_STATUSES, RUN_KINDS, RETRYABLE_STATUSES, RunStatus, SampleOperationInput, TERMINAL_STATUSES, isTerminal } from "@/server/schemas/run";

describe("run kind registry", () => {
  // That the worker has a handler for each kind is checked by the compiler (workers/kinds/index.ts).
  it("has a policy for every kind, and only for real kinds", () => {
    expect(RUN_KINDS).toEqual(RUN_KIND_NAMES);
    expect(RUN_KIND_NAMES.every(isRunKind)).toBe(true);
    expect(isRunKind("toString")).toBe(false);
    expect(runKindPolicy("no-such-kind")).toBeNull();
  });

  it("labels kinds for the console, and shows unknown ones as they are", () => {
    expect(runKindLabel("topology-apply")).toBe("Topology apply");
    expect(runKindLabel("sample-operation-strict")).toMatch(/^Sample operation/);
    expect(runKindLabel("kind-from-a-newer-version")).toBe("kind-from-a-newer-version");
  });

  it("makes an apply conflict with applies and operations, and a plan with nothing", () => {
    expect(conflictingKinds("topology-apply").sort()).toEqual(["certificate-order", "db-promote", "sample-operation", "sample-operation-strict", "topology-apply"]);
    expect(conflictingKinds("sample-operation")).toContain("topology-apply");
    expect(conflictingKinds("topology-plan")).toEqual([]);
    expect(conflictingKinds("system-check")).toEqual([]);
    expect(conflictingKinds("no-such-kind")).toEqual([]);
  });

  it("exclusion is symmetric: if A waits for B, B waits for A", () => {
    for (const a of RUN_KIND_NAMES) for (const b of conflictingKinds(a)) expect(conflictingKinds(b), `${b} should conflict with ${a}`).toContain(a);
  });

  it("says what to check for every kind that does not resume", () => {
    const strict = RUN_KIND_NAMES.filter((k) => !RUN_KIND_POLICIES[k].resumable);
    expect(strict).toEqual(["db-promote", "sample-operation-strict"]);
    for (const k of strict) expect(runKindPolicy(k)?.checkBeforeRestart, k).toBeTruthy();
    // The kinds that existed before operations re-observe or only read: they resume.
    for (const k of ["system-check", "server-check", "topology-plan", "topology-apply"]) expect(runKindPolicy(k)?.resumable, k).toBe(true);
  });

  it("explains a refused takeover with the phase and what to check", () => {
    expect(interruptedReason("sample-operation-strict", "phase two")).toBe(
      "the worker stopped during phase 'phase two'; this kind does not resume (it may have half-done work): check nothing (it is a sample that changes nothing) and start again",
    );
  });
});

describe("run statuses", () => {
  it("partial is terminal and can be retried; awaiting confirmation is neither", () => {
    expect(TERMINAL_STATUSES).toEqual(["succeeded", "failed", "cancelled", "partial"]);
    expect(isTerminal("partial")).toBe(true);
    expect(isTerminal("awaiting-confirmation")).toBe(false);
    expect(RETRYABLE_STATUSES).toContain("partial");
    expect(ACTIVE_STATUSES).toContain("awaiting-confirmation");
    // Every status is either active or terminal, never both.
    for (const s of RunStatus.options) expect((ACTIVE_STATUSES as readonly string[]).includes(s), s).toBe(!isTerminal(s));
  });

  it("bounds the sample operation's delay", () => {
    expect(SampleOperationInput.parse({})).toEqual({ phaseDelayMs: 1000 });
    expect(SampleOperationInput.safeParse({ phaseDelayMs: 60_001 }).success).toBe(false);
  });
});
