// The import rules of the layers (see "How it is built" in README.md), checked by
// dependency-cruiser in CI: `npm run lint:deps`. A forbidden import fails with the
// rule's name, the importing file and the imported one.
//
// Layers: app/ (routes) → components/ (React) → server/schemas (shared zod);
// server/api → server/services → server/{db,queue,exec,secrets}; server/provision is
// pure planning (commands as data, no I/O); server/exec is the only code that touches
// SSH; workers/ may use anything server-side.
const fs = require("node:fs");
const path = require("node:path");

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// Client code: every component, plus any file under app/ that starts with "use client".
function clientFilesUnderApp(dir) {
  const found = [];
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...clientFilesUnderApp(full));
    else if (/\.(tsx?|jsx?)$/.test(entry.name) && /^\s*(\/\/[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*["']use client["']/.test(fs.readFileSync(full, "utf8")))
      found.push(path.relative(__dirname, full).split(path.sep).join("/"));
  }
  return found;
}
const CLIENT = `^(components/|${["(?!)", ...clientFilesUnderApp(path.join(__dirname, "app")).map((f) => `${esc(f)}$`)].join("|")})`;

// npm packages that only work in the server process (native code, sockets, the database).
// (Resolved paths are node_modules/<name>/…, also when node_modules is elsewhere; bare names when not installed.)
const SERVER_PACKAGE_NAMES = "(ssh2|bullmq|ioredis|@prisma/[^/]+|prisma|better-sqlite3)";
const SERVER_ONLY_PACKAGES = `(^|/)node_modules/${SERVER_PACKAGE_NAMES}/|^${SERVER_PACKAGE_NAMES}$`;
// Node built-ins that do I/O: pure planning code uses none of them.
const IO_BUILTINS = "^(node:)?(fs|fs/promises|child_process|worker_threads|cluster|dgram|dns|dns/promises|http|https|http2|tls|readline)$";

// Known violations of the rules below that exist today, each to be removed by the
// change that fixes it (not a place for new ones).
const KNOWN = {
  clientToServer: [],
  circular: [],
};
const except = (list) => (list.length ? `^(${list.map(esc).join("|")})$` : "(?!)");

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "client-not-to-server",
      severity: "error",
      comment:
        "Console components (and 'use client' files) reach the server only through tRPC: they may import server/schemas (shared zod) and, as `import type`, the router's type from server/api. Never services, db, exec, queue, secrets, auth, env, provision or workers.",
      from: { path: CLIENT, pathNot: except(KNOWN.clientToServer) },
      to: { path: "^(server|workers|prisma)/", pathNot: "^server/(schemas|api)/" },
    },
    {
      name: "client-api-types-only",
      severity: "error",
      comment: "Components may name the tRPC router's type (import type … from server/api) but must not import its code.",
      from: { path: CLIENT },
      to: { path: "^server/api/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "client-not-to-server-packages",
      severity: "error",
      comment: "ssh2, bullmq, ioredis, Prisma and SQLite are server-process packages: a component importing one drags it into the browser bundle (or fails the build).",
      from: { path: CLIENT },
      to: { path: SERVER_ONLY_PACKAGES },
    },
    {
      name: "client-not-to-node-builtins",
      severity: "error",
      comment: "Node built-ins do not exist in the browser.",
      from: { path: CLIENT },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "schemas-only-zod",
      severity: "error",
      comment: "server/schemas is bundled into the browser with the forms: it imports zod and other schemas, nothing else.",
      from: { path: "^server/schemas/" },
      to: { pathNot: "^server/schemas/|(^|/)node_modules/zod/|^zod$" },
    },
    {
      name: "provision-stays-pure",
      severity: "error",
      comment:
        "server/provision is pure planning (observe → diff → steps as data): it may import itself, server/schemas, server/pki and the Secret wrapper, not the executor, the database, services, queues or workers.",
      from: { path: "^server/provision/" },
      to: { path: "^(server|workers|prisma)/", pathNot: "^server/(provision/|schemas/|pki/|secrets/secret\\.ts$)" },
    },
    {
      name: "provision-no-io",
      severity: "error",
      comment: "server/provision does no I/O: no file system, processes, sockets or server-only packages (the executor and the workers do that).",
      from: { path: "^server/provision/" },
      to: { path: [IO_BUILTINS, SERVER_ONLY_PACKAGES] },
    },
    {
      name: "exec-is-a-leaf",
      severity: "error",
      comment: "The executor only runs commands: it knows commands (server/provision/command.ts), keys and secrets, not services, the database, queues, the API or workers.",
      from: { path: "^server/exec/" },
      to: { path: "^(server/(services|db|queue|api|auth|env)|workers/|prisma/)" },
    },
    {
      name: "app-not-to-exec",
      severity: "error",
      comment: "Pages and route handlers go through services (and runs on the workers) to reach servers, never the SSH executor or the workers' code.",
      from: { path: "^app/" },
      to: { path: "^(server/exec/|workers/)" },
    },
    {
      name: "server-not-to-workers",
      severity: "error",
      comment: "Workers depend on server/, not the other way round: the console process must not load worker code.",
      from: { path: "^server/" },
      to: { path: "^workers/" },
    },
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle makes load order matter and layers meaningless. Known cycles are listed in KNOWN.circular.",
      from: { pathNot: except(KNOWN.circular) },
      to: { circular: true },
    },
  ],
  options: {
    // Type-only imports count too (each rule says when they are allowed).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Resolve and name npm packages and generated code, but do not walk into them.
    doNotFollow: { path: ["node_modules", "^server/generated/"] },
    exclude: { path: ["^\\.next/", "^dist/"] },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".d.ts", ".js", ".mjs", ".cjs", ".jsx"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
