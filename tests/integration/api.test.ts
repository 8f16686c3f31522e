// The tRPC API called in-process (createCaller): validation messages name the
// field, domain errors map to tRPC codes, and a dead Redis is reported clearly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRPCError } from "@trpc/server";
import { appRouter } from "@/server/api/root";
import { createCallerFactory } from "@/server/api/trpc";
import type { Db } from "@/server/db";
import { startRun } from "@/server/services/runs";
import { createTestDb } from "../support/test-db";
import { contextFor, makeUser } from "../support/auth";
import type { Principal } from "@/server/auth/principal";

let db: Db;
let operator: Principal;
beforeAll(async () => {
  ({ db } = await createTestDb());
  operator = (await makeUser(db, "operator")).principal;
});
afterAll(() => db.$disconnect());

const caller = () => createCallerFactory(appRouter)(contextFor(db, operator));

describe("runs API", () => {
  it("lists runs newest first, with a cursor", async () => {
    for (const i of [1, 2, 3]) await db.run.create({ data: { kind: "system-check", requestedBy: `u${i}`, createdAt: new Date(Date.UTC(2026, 0, i)) } });
    const page1 = await caller().runs.list({ limit: 2 });
    expect(page1.items.map((r) => r.requestedBy)).toEqual(["u3", "u2"]);
    const page2 = await caller().runs.list({ limit: 2, cursor: page1.nextCursor });
    expect(page2.items.map((r) => r.requestedBy)).toEqual(["u1"]);
    expect(page2.nextCursor).toBeNull();
  });

  it("answers NOT_FOUND for an unknown run", async () => {
    await expect(caller().runs.get({ id: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND", message: "No run with id nope" });
  });

  it("rejects bad input with a message naming the field", async () => {
    const err = await caller()
      .runs.startSystemCheck({ delayBetweenChecksMs: 999_999 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("BAD_REQUEST");
  });

  it("when the queue is down, the run is recorded as failed with the reason and the caller is told", async () => {
    const queue = { add: async () => Promise.reject(new Error("Connection is closed.")) };
    await expect(startRun({ db, queue }, { name: "tester" }, "system-check", {})).rejects.toMatchObject({
      code: "UNAVAILABLE",
      message: expect.stringMatching(/queue \(Redis\) is unavailable/),
    });
    const failed = await db.run.findFirstOrThrow({ where: { requestedBy: "tester", status: "failed" } });
    expect(failed.outcome).toMatch(/could not queue the run: Connection is closed/);
  });
});
