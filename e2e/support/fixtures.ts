// The e2e suite's `test`: records every state-changing request the browser makes
// (so audit.spec.ts can check each left an audit row), and can sign a page in.
import { appendFileSync } from "node:fs";
import path from "node:path";
import { test as base, expect, type BrowserContext, type Page } from "@playwright/test";

export const mutationsLog = () => path.join(process.env.E2E_DATA_DIR!, "e2e-mutations.jsonl");

/** Records a mutation made outside the browser (curl), for the audit check. */
export function recordMutation(action: string) {
  appendFileSync(mutationsLog(), `${JSON.stringify({ action, at: Date.now() })}\n`);
}

function watch(page: Page) {
  page.on("request", (req) => {
    const url = new URL(req.url());
    if (req.method() !== "POST" || !url.pathname.startsWith("/api/trpc/")) return;
    for (const action of decodeURIComponent(url.pathname.slice("/api/trpc/".length)).split(",")) recordMutation(action);
  });
}

export async function signIn(context: BrowserContext, email: string, password: string) {
  const baseURL = `http://localhost:${process.env.E2E_PORT || 3210}`;
  const res = await context.request.post(`${baseURL}/api/trpc/auth.login`, {
    headers: { "x-rampart-csrf": "1", origin: baseURL },
    data: { json: { email, password } },
  });
  expect(res.status()).toBe(200);
  recordMutation("auth.login");
}

export const test = base.extend<{ watched: void }>({
  watched: [
    async ({ context }, use) => {
      context.on("page", watch);
      for (const p of context.pages()) watch(p);
      await use();
    },
    { auto: true },
  ],
});

export { expect };
