import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadEnv } from "@/server/env";
import { displayDatabaseUrl } from "@/server/database-url";

describe("loadEnv", () => {
  it("fills embedded defaults: SQLite in DATA_DIR and a local Redis", () => {
    const env = loadEnv({ DATA_DIR: "/var/lib/rampart" });
    expect(env.PORT).toBe(3000);
    expect(env.BIND_ADDRESS).toBe("127.0.0.1");
    expect(env.DATABASE_URL).toBe("file:/var/lib/rampart/rampart.db");
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6390");
  });

  it("resolves a relative data directory and database file", () => {
    const env = loadEnv({ DATA_DIR: "rel-data", DATABASE_URL: "file:./x/y.db" });
    expect(env.DATA_DIR).toBe(path.resolve("rel-data"));
    expect(env.DATABASE_URL).toBe(`file:${path.resolve("x/y.db")}`);
  });

  it("derives the embedded Redis URL from REDIS_PORT and the password npm start generated, and prefers REDIS_URL", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-env-"));
    expect(loadEnv({ DATA_DIR: dir, REDIS_PORT: "7001" }).REDIS_URL).toBe("redis://127.0.0.1:7001");
    mkdirSync(path.join(dir, "redis"));
    writeFileSync(path.join(dir, "redis", "password"), "0f1e2d\n");
    expect(loadEnv({ DATA_DIR: dir, REDIS_PORT: "7001" }).REDIS_URL).toBe("redis://:0f1e2d@127.0.0.1:7001");
    expect(loadEnv({ DATA_DIR: dir, REDIS_PORT: "7001", REDIS_URL: "redis://cache:6379/2" }).REDIS_URL).toBe("redis://cache:6379/2");
  });

  it.each([
    [{ PORT: "abc" }, /^Invalid configuration: PORT must be a number \(got "abc"\)$/],
    [{ PORT: "70000" }, /PORT must be between 1 and 65535 \(got "70000"\)/],
    [{ DATABASE_URL: "mysql://db/rampart" }, /DATABASE_URL must be a SQLite URL .* or a PostgreSQL URL .* \(got "mysql:\/\/db\/rampart"\)/],
    [{ DATABASE_URL: "postgresql://rampart:s3cret@db" }, /DATABASE_URL must be .* \(got "postgresql:\/\/rampart:\*\*\*\*@db"\)/],
    [{ REDIS_URL: "localhost:6379" }, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    [{ WORKER_CONCURRENCY: "0" }, /WORKER_CONCURRENCY must be at least 1/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
  ])("rejects %o with a message that names the variable", (source, message) => {
    expect(() => loadEnv(source)).toThrow(ConfigError);
    expect(() => loadEnv(source)).toThrow(message);
  });

  it("accepts a PostgreSQL URL as it is, and never shows its password", () => {
    const url = "postgresql://rampart:s3cret@db.example:5432/rampart";
    expect(loadEnv({ DATA_DIR: "/tmp/x", DATABASE_URL: url }).DATABASE_URL).toBe(url);
    expect(displayDatabaseUrl(url)).toBe("postgresql://rampart:****@db.example:5432/rampart");
    expect(displayDatabaseUrl("postgres://rampart@/rampart?host=/run/postgresql")).toBe("postgres://rampart@/rampart?host=/run/postgresql");
    expect(displayDatabaseUrl("file:/var/lib/rampart/rampart.db")).toBe("file:/var/lib/rampart/rampart.db");
  });

  it("RAMPART_PROCESSES: all by default; a console or worker alone needs the shared REDIS_URL", () => {
    expect(loadEnv({ DATA_DIR: "/tmp/x" }).RAMPART_PROCESSES).toBe("all");
    expect(loadEnv({ DATA_DIR: "/tmp/x", RAMPART_PROCESSES: "worker", REDIS_URL: "redis://redis.example:6379" }).RAMPART_PROCESSES).toBe("worker");
    expect(() => loadEnv({ DATA_DIR: "/tmp/x", RAMPART_PROCESSES: "console" })).toThrow(/RAMPART_PROCESSES=console needs REDIS_URL/);
    expect(() => loadEnv({ DATA_DIR: "/tmp/x", RAMPART_PROCESSES: "web" })).toThrow(/RAMPART_PROCESSES must be all, console or worker \(got "web"\)/);
  });

  it("reports every bad variable on one line", () => {
    try {
      loadEnv({ PORT: "x", REDIS_URL: "nope" });
      expect.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).not.toContain("\n");
      expect(msg).toContain("PORT");
      expect(msg).toContain("REDIS_URL");
    }
  });
});

describe(".env.example", () => {
  it("documents every variable that server/env.ts reads", async () => {
    const { readFileSync } = await import("node:fs");
    const { ENV_VARIABLES } = await import("@/server/env");
    const example = readFileSync(".env.example", "utf8");
    const missing = ENV_VARIABLES.filter((name) => name !== "NODE_ENV" && !new RegExp(`^#?\\s*${name}=`, "m").test(example));
    expect(missing).toEqual([]);
  });
});
