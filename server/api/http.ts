// The HTTP entry points (tRPC at /api/trpc, REST at /api/v1), sharing one CSRF
// check and one context. Access itself is enforced inside the procedures.
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createOpenApiFetchHandler, generateOpenApiDocument } from "trpc-to-openapi";
import { appRouter } from "./root";
import { createContext } from "./context";
import { csrfProblem } from "../auth/csrf";
import { env } from "../env";

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

export async function handleTrpc(req: Request): Promise<Response> {
  return (
    csrfReject(req, true) ??
    fetchRequestHandler({
      endpoint: "/api/trpc",
      req,
      router: appRouter,
      createContext: ({ resHeaders }) => createContext({ req, resHeaders }),
      onError({ error, path }) {
        if (error.code === "INTERNAL_SERVER_ERROR") console.error(`tRPC ${path ?? "?"}: ${error.message}`);
      },
    })
  );
}

export async function handleRest(req: Request): Promise<Response> {
  return (
    csrfReject(req, false) ??
    createOpenApiFetchHandler({
      endpoint: "/api/v1",
      router: appRouter,
      createContext: () => createContext({ req, resHeaders: null }),
      req,
    })
  );
}

export function openApiDocument(baseUrl: string) {
  return generateOpenApiDocument(appRouter, {
    title: "Rampart API",
    description: "Every operation of the Rampart console. Authenticate with `Authorization: Bearer rp_…` (create tokens under Settings → API tokens).",
    version: "1",
    baseUrl,
  });
}
