// The HTTP entry points (tRPC at /api/trpc, REST at /api/v1), sharing one CSRF
// check and one context. Access itself is enforced inside the procedures.
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createOpenApiFetchHandler, generateOpenApiDocument } from "trpc-to-openapi";
import { appRouter } from "./root";
import { createContext } from "./context";
import { csrfProblem } from "../auth/csrf";
import { env } from "../env";
import { MAX_ARTIFACT_BYTES } from "../schemas/topology";
import { observeApi } from "../metrics";

function csrfReject(req: Request, always: boolean): Response | null {
  const e = env();
  const problem = csrfProblem({
    method: req.method,
    headers: req.headers,
    requestUrl: req.url,
    allowedOrigins: [...e.ALLOWED_ORIGINS, ...(e.PUBLIC_URL ? [new URL(e.PUBLIC_URL).origin] : [])],
    always,
  });
  if (!problem) return null;
  return Response.json({ error: { code: "FORBIDDEN", message: `Cross-site request refused: ${problem}` } }, { status: 403 });
}

/** Request bodies past this size are refused with 413 (an app archive upload may be larger: base64 of 50 MB). */
export const BODY_LIMIT_BYTES = 1024 * 1024;
export const UPLOAD_BODY_LIMIT_BYTES = Math.ceil((MAX_ARTIFACT_BYTES * 4) / 3) + 64 * 1024;
const isUpload = (url: URL) => /(^|[,/])topologies\.uploadArtifact($|,)/.test(url.pathname.replace(/^\/api\/trpc\//, "")) || /^\/api\/v1\/topologies\/[^/]+\/artifacts$/.test(url.pathname);

/**
 * Reads the body under its limit (declared or not: a chunked body is counted as it
 * arrives, and reading stops at the limit), so a huge body never fills the web
 * process's memory. Returns the request to hand on, or the 413 to answer.
 */
export async function limitBody(req: Request): Promise<Request | Response> {
  if (req.method === "GET" || req.method === "HEAD" || !req.body) return req;
  const limit = isUpload(new URL(req.url)) ? UPLOAD_BODY_LIMIT_BYTES : BODY_LIMIT_BYTES;
  const tooLarge = () =>
    Response.json({ error: { code: "PAYLOAD_TOO_LARGE", message: `The request body is larger than ${Math.round(limit / 1024)} KiB, the most this endpoint accepts` } }, { status: 413 });
  const declared = Number(req.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) return tooLarge();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return tooLarge();
    }
    chunks.push(value);
  }
  return new Request(req.url, { method: req.method, headers: req.headers, body: Buffer.concat(chunks), signal: req.signal });
}

/** What both entry points check first: the CSRF rule, then the body's size. The request to hand on, or the refusal. */
async function admit(incoming: Request, csrfAlways: boolean): Promise<Request | Response> {
  return csrfReject(incoming, csrfAlways) ?? (await limitBody(incoming));
}

export async function handleTrpc(incoming: Request): Promise<Response> {
  const started = performance.now();
  const req = await admit(incoming, true);
  const res =
    req instanceof Response
      ? req
      : await fetchRequestHandler({
          endpoint: "/api/trpc",
          req,
          router: appRouter,
          createContext: ({ resHeaders }) => createContext({ req, resHeaders }),
        });
  observeApi("trpc", new URL(incoming.url), res, started);
  return res;
}

export async function handleRest(incoming: Request): Promise<Response> {
  const started = performance.now();
  const req = await admit(incoming, false);
  const res =
    req instanceof Response
      ? req
      : await createOpenApiFetchHandler({
          endpoint: "/api/v1",
          router: appRouter,
          createContext: () => createContext({ req, resHeaders: null }),
          req,
        });
  observeApi("rest", new URL(incoming.url), res, started);
  return res;
}

export function openApiDocument(baseUrl: string) {
  return generateOpenApiDocument(appRouter, {
    title: "Rampart API",
    description: "Every operation of the Rampart console. Authenticate with `Authorization: Bearer rp_…` (create tokens under Settings → API tokens).",
    version: "1",
    baseUrl,
  });
}
