// The demo command registers the lab's hosts, with their host keys pinned, once.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ensureLab } from "@/e2e/lab/fixture";
import { createDb } from "@/server/db";

describe("npm run demo:lab", () => {
  it("registers lab1..lab3 with pinned host keys, and a second run changes nothing", async () => {
    const lab = await ensureLab(3);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "rampart-demo-"));
    const run = () => spawnSync("bash", ["scripts/demo-lab.sh"], { env: { ...process.env, DATA_DIR: dataDir }, encoding: "utf8", timeout: 600_000 });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain("Registered lab1, lab2, lab3");
    const second = run();
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("already registered");
    const db = await createDb(`file:${path.join(dataDir, "rampart.db")}`);
    const servers = await db.server.findMany({ orderBy: { name: "asc" }, where: { name: { in: ["lab1", "lab2", "lab3"] } } });
    await db.$disconnect();
    expect(servers.map((s) => [s.name, s.hostKeyStatus, s.hostKeyFingerprint])).toEqual(lab.hosts.slice(0, 3).map((h) => [h.name, "pinned", h.fingerprint]));
  }, 600_000);
});
