import { describe, expect, it } from "vitest";
import { RunFollowInput, SystemCheckInput, isTerminal } from "@/server/schemas/run";
import { describeJobFailure } from "@/workers/reconcile";
import { redactUrl } from "@/server/queue/redis";

describe("run schemas", () => {
  it("defaults the system check to no pause and bounds it", () => {
    expect(SystemCheckInput.parse({})).toEqual({ delayBetweenChecksMs: 0 });
    expect(SystemCheckInput.safeParse({ delayBetweenChecksMs: 60_001 }).success).toBe(false);
    expect(SystemCheckInput.safeParse({ delayBetweenChecksMs: -1 }).error?.issues[0]?.message).toBe("must be 0 or more");
  });

  it("accepts only sequence numbers as the last event id", () => {
    expect(RunFollowInput.safeParse({ id: "r1", lastEventId: "12" }).success).toBe(true);
    expect(RunFollowInput.safeParse({ id: "r1", lastEventId: "12; DROP" }).success).toBe(false);
  });

  it("knows which statuses are final", () => {
    expect(["succeeded", "failed", "cancelled"].every(isTerminal)).toBe(true);
    expect(["queued", "running"].some(isTerminal)).toBe(false);
  });
});

describe("operator-facing messages", () => {
  it("explains a job that stalled too often", () => {
    expect(describeJobFailure("job stalled more than allowable limit")).toMatch(/worker running it stopped/);
    expect(describeJobFailure(undefined)).toMatch(/without a reason/);
  });

  it("never prints a Redis password", () => {
    expect(redactUrl("redis://:s3cret@cache:6379/1")).toBe("redis://:***@cache:6379/1");
    expect(redactUrl("redis://user:s3cret@cache:6379")).not.toContain("s3cret");
  });
});
