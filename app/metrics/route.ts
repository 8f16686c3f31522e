// Rampart's own metrics for Prometheus (server/metrics.ts). Scraped with a Bearer
// token (Settings → API tokens; read access is enough), a signed-in session, or the
// embedded Prometheus's own token.
import { createContext } from "@/server/api/context";
import { isPrometheusToken, scrapeMetrics } from "@/server/services/metrics";

export const dynamic = "force-dynamic";

export async function GET(req: Request): Promise<Response> {
  const ctx = isPrometheusToken(req.headers.get("authorization")) ? null : await createContext({ req, resHeaders: null });
  if (ctx && !ctx.principal)
    return new Response(ctx.badToken ? "The token is unknown, revoked or expired\n" : "Send a token: Authorization: Bearer rp_…\n", {
      status: 401,
      headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="rampart"' },
    });
  const { text, contentType } = await scrapeMetrics();
  return new Response(text, { headers: { "content-type": contentType, "cache-control": "no-store" } });
}
