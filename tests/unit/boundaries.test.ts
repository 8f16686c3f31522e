// The import rules (.dependency-cruiser.cjs), run the way CI runs them (`npm run
// lint:deps`): the real tree passes, and a small tree with one forbidden import per
// rule fails, naming each rule and file.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "../..");
const script: string = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")).scripts["lint:deps"];

/** `npm run lint:deps` in `cwd`, with extra arguments; the repo's node_modules/.bin on PATH as npm would put it. */
function lintDeps(cwd: string, ...extra: string[]) {
  const r = spawnSync("sh", ["-c", `${script} ${extra.join(" ")}`], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, PATH: `${path.join(repo, "node_modules/.bin")}:${process.env["PATH"]}` },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

// One file per case: what it imports, and the rule that must fire (null: allowed).
const FILES: Record<string, string> = {
  "server/services/servers.ts": "export const listServers = () => [];\n",
  "server/db.ts": "export const db = {};\n",
  "server/schemas/servers.ts": 'import { z } from "zod";\nexport const serverSchema = z.object({ name: z.string() });\n',
  "server/api/root.ts": "export const appRouter = {};\nexport type AppRouter = typeof appRouter;\n",
  "server/exec/ssh-executor.ts": "export class SshExecutor {}\n",
  "server/secrets/secret.ts": "export class Secret {}\n",
  "server/queue/names.ts": 'export const QUEUE = "runs";\n',
  "server/provision/command.ts": 'import type { Secret } from "../secrets/secret";\nexport interface Command { argv: string[]; stdin?: Secret }\n',
  "workers/main.ts": 'import { SshExecutor } from "@/server/exec/ssh-executor";\nimport { db } from "@/server/db";\nexport const w = [SshExecutor, db];\n',
  // Allowed: schemas, and the router's type.
  "components/servers/good.tsx":
    'import { serverSchema } from "@/server/schemas/servers";\nimport type { AppRouter } from "@/server/api/root";\nimport { z } from "zod";\nexport const Good = (_: AppRouter) => serverSchema.parse(z.object({}));\n',
  // Forbidden: the planted import.
  "components/servers/bad.tsx": 'import { listServers } from "@/server/services/servers";\nexport const Bad = () => listServers();\n',
  "components/servers/router-code.tsx": 'import { appRouter } from "../../server/api/root";\nexport const r = appRouter;\n',
  "components/servers/ssh.tsx": 'import ssh2 from "ssh2";\nexport const c = ssh2;\n',
  "components/servers/fs.tsx": 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;\n',
  // app/: server components may use services; "use client" files are client code.
  "app/servers/page.tsx": 'import { listServers } from "@/server/services/servers";\nexport default function Page() { return listServers(); }\n',
  "app/servers/client-part.tsx": '"use client";\nimport { QUEUE } from "@/server/queue/names";\nexport const q = QUEUE;\n',
  "app/servers/exec-page.tsx": 'import { SshExecutor } from "@/server/exec/ssh-executor";\nexport const e = SshExecutor;\n',
  "server/schemas/bad.ts": 'import { db } from "../db";\nexport const s = db;\n',
  // Pure planning: its own files, schemas, the Secret wrapper and node:crypto are fine.
  "server/provision/good.ts":
    'import { createHash } from "node:crypto";\nimport type { Command } from "./command";\nimport { serverSchema } from "../schemas/servers";\nexport const g = (c: Command) => [createHash("sha256"), serverSchema, c];\n',
  "server/provision/bad.ts": 'import type { SshExecutor } from "../exec/ssh-executor";\nimport { writeFileSync } from "node:fs";\nexport const b = (e: SshExecutor) => [e, writeFileSync];\n',
  "server/exec/bad.ts": 'import { listServers } from "../services/servers";\nexport const x = listServers;\n',
  "server/services/uses-worker.ts": 'import { w } from "../../workers/main";\nexport const y = w;\n',
  "server/services/a.ts": 'import { b } from "./b";\nexport const a = () => b;\n',
  "server/services/b.ts": 'import { a } from "./a";\nexport const b = () => a;\n',
};

const EXPECTED = [
  ["client-not-to-server", "components/servers/bad.tsx", "server/services/servers.ts"],
  ["client-api-types-only", "components/servers/router-code.tsx", "server/api/root.ts"],
  ["client-not-to-server-packages", "components/servers/ssh.tsx", "node_modules/ssh2/lib/index.js"],
  ["client-not-to-node-builtins", "components/servers/fs.tsx", "fs"],
  ["client-not-to-server", "app/servers/client-part.tsx", "server/queue/names.ts"],
  ["app-not-to-exec", "app/servers/exec-page.tsx", "server/exec/ssh-executor.ts"],
  ["schemas-only-zod", "server/schemas/bad.ts", "server/db.ts"],
  ["provision-stays-pure", "server/provision/bad.ts", "server/exec/ssh-executor.ts"],
  ["provision-no-io", "server/provision/bad.ts", "fs"],
  ["exec-is-a-leaf", "server/exec/bad.ts", "server/services/servers.ts"],
  ["server-not-to-workers", "server/services/uses-worker.ts", "workers/main.ts"],
  ["no-circular", "server/services/a.ts", "server/services/b.ts"], // a cycle is reported once
];

describe("import boundaries (dependency-cruiser)", () => {
  let fixture = "";

  beforeAll(() => {
    fixture = mkdtempSync(path.join(os.tmpdir(), "rampart-boundaries-"));
    for (const [file, text] of Object.entries(FILES)) {
      mkdirSync(path.dirname(path.join(fixture, file)), { recursive: true });
      writeFileSync(path.join(fixture, file), text);
    }
    copyFileSync(path.join(repo, ".dependency-cruiser.cjs"), path.join(fixture, ".dependency-cruiser.cjs"));
    copyFileSync(path.join(repo, "tsconfig.json"), path.join(fixture, "tsconfig.json"));
    symlinkSync(path.join(repo, "node_modules"), path.join(fixture, "node_modules"));
  });

  afterAll(() => {
    if (fixture) rmSync(fixture, { recursive: true, force: true });
  });

  it("the repository passes", () => {
    const r = lintDeps(repo);
    expect(r.stderr + r.stdout).toMatch(/no dependency violations found/);
    expect(r.code).toBe(0);
  });

  it("a component importing a server service fails, naming the rule and both files", () => {
    const r = lintDeps(fixture, "--output-type", "err");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("error client-not-to-server: components/servers/bad.tsx → server/services/servers.ts");
  });

  it("each rule catches its forbidden import, and nothing allowed is reported", () => {
    const r = lintDeps(fixture, "--output-type", "json");
    const violations: Violation[] = JSON.parse(r.stdout).summary.violations;
    // The fixture's node_modules is a link to the repo's: packages resolve to paths outside it.
    const found = violations.map((v) => [v.rule.name, v.from, v.to.replace(/^.*\/node_modules\//, "node_modules/")]);
    expect(found.sort()).toEqual([...EXPECTED].sort());
  });
});
