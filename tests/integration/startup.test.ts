// The start command with bad settings: one clear line naming the problem, exit non-zero,
// and nothing left running.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../support/redis-server";
import { monitoringPorts } from "../support/processes";

async function start(env: Record<string, string>) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "rampart-start-"));
  const res = spawnSync("bash", ["scripts/start.sh"], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(await freePort()), REDIS_PORT: String(await freePort()), ...(await monitoringPorts()), ...env },
    encoding: "utf8",
    timeout: 240_000,
  });
  // eslint-disable-next-line no-control-regex
  const lines = (res.stdout + res.stderr)
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((l) => l.trim() !== "");
  return { status: res.status, lines };
}

describe("npm start with a bad configuration", () => {
  it("an unreachable REDIS_URL prints one line naming it and exits non-zero", async () => {
    const { status, lines } = await start({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(status).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rampart: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable: .*\(check REDIS_URL\)$/);
  });

  it("a DATABASE_URL that is neither SQLite nor PostgreSQL prints one line naming it, its password hidden", async () => {
    const { status, lines } = await start({ DATABASE_URL: "mysql://rampart:hunter2@db.example/rampart" });
    expect(status).not.toBe(0);
    expect(lines).toEqual([
      expect.stringMatching(/^rampart: Invalid configuration: DATABASE_URL must be a SQLite URL .* or a PostgreSQL URL .*\(got "mysql:\/\/rampart:\*\*\*\*@db.example\/rampart"\)$/),
    ]);
  });

  it("a PostgreSQL URL without a database name is refused before anything starts, its password hidden", async () => {
    const { status, lines } = await start({ DATABASE_URL: "postgresql://rampart:hunter2@db.example" });
    expect(status).not.toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^rampart: Invalid configuration: DATABASE_URL must be .*\(got "postgresql:\/\/rampart:\*\*\*\*@db.example"\)$/)]);
  });

  it("an unreachable PostgreSQL prints one line naming it, its password hidden", async () => {
    const port = await freePort();
    const { status, lines } = await start({ DATABASE_URL: `postgresql://rampart:hunter2@127.0.0.1:${port}/rampart` });
    expect(status).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^rampart: PostgreSQL at postgresql://rampart:\\*{4}@127\\.0\\.0\\.1:${port}/rampart cannot be opened: Can't reach database server at 127\\.0\\.0\\.1:${port} \\(check DATABASE_URL\\)$`,
      ),
    );
    expect(lines[0]).not.toContain("hunter2");
  });

  it("a DATABASE_URL in a directory that does not exist prints one line naming it", async () => {
    const { status, lines } = await start({ DATABASE_URL: "file:/nonexistent-rampart-dir/sub/rampart.db" });
    expect(status).not.toBe(0);
    expect(lines).toEqual(["rampart: DATABASE_URL points into /nonexistent-rampart-dir/sub, which does not exist or is not writable"]);
  });

  it("a bad PORT prints one line naming it", async () => {
    const { status, lines } = await start({ PORT: "eighty" });
    expect(status).not.toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^rampart: Invalid configuration: PORT must be a number \(got "eighty"\)$/)]);
  });
});
