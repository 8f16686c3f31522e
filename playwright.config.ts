import { defineConfig } from "@playwright/test";

// Debian's Chromium (Playwright's own browser download is not possible here).
const port = Number(process.env.E2E_PORT || 3210);

export default defineConfig({
  testDir: "e2e",
  // Order matters: first-run setup creates the admin the other specs sign in as,
  // and the audit check runs after every other mutation.
  projects: [
    { name: "first-run", testMatch: "access.spec.ts" },
    { name: "console", testMatch: "console.spec.ts", dependencies: ["first-run"] },
    { name: "servers", testMatch: "servers.spec.ts", dependencies: ["console"] },
    { name: "topology", testMatch: "topology.spec.ts", dependencies: ["servers"] },
    { name: "web-tier", testMatch: "web-tier.spec.ts", dependencies: ["topology"] },
    { name: "firewall", testMatch: "firewall.spec.ts", dependencies: ["web-tier"] },
    { name: "acme", testMatch: "acme.spec.ts", dependencies: ["firewall"] },
    { name: "monitoring", testMatch: "monitoring.spec.ts", dependencies: ["acme"] },
    { name: "databases", testMatch: "databases.spec.ts", dependencies: ["monitoring"] },
    { name: "run-log", testMatch: "run-log.spec.ts", dependencies: ["console"] },
    // The seed's site from the "New site" template, on three more lab hosts.
    { name: "new-site", testMatch: "new-site.spec.ts", dependencies: ["databases"] },
    // Every page as the suite left it (every role, runs, alerts): axe-core and a phone's width.
    { name: "a11y", testMatch: "a11y.spec.ts", dependencies: ["new-site", "run-log"] },
    { name: "audit", testMatch: "audit.spec.ts", dependencies: ["acme", "run-log", "a11y"] },
  ],
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"], ["./e2e/support/summary-reporter.ts"]],
  globalSetup: "./e2e/support/global-setup.ts",
  use: {
    baseURL: `http://localhost:${port}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
    },
  },
});
