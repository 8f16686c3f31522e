// The console's HTTP server: Next.js's request handler behind a plain Node server,
// so that Rampart (not the client) says which address a request came from. Login
// throttling and the audit log rely on it: X-Forwarded-For is only believed from the
// reverse proxies TRUST_PROXY names (scripts/client-address.mjs).
import http from "node:http";
import next from "next";
import { randomBytes } from "node:crypto";
import { clientAddress, trustedProxies } from "./client-address.mjs";
import { allowedHosts, hostAllowed, securityHeaders } from "./web-security.mjs";

const port = Number(process.env.PORT || 3000);
const hostname = process.env.BIND_ADDRESS || "127.0.0.1";
const trusted = trustedProxies(process.env.TRUST_PROXY);
const hosts = allowedHosts({ publicUrl: process.env.PUBLIC_URL, allowedOrigins: process.env.ALLOWED_ORIGINS });
const https = /^https:\/\//i.test(process.env.PUBLIC_URL ?? "");
const CLIENT_IP_HEADER = "x-rampart-client-ip";

const app = next({ dev: false, hostname, port, dir: process.cwd() });
const handle = app.getRequestHandler();
await app.prepare();

const server = http.createServer((req, res) => {
  if (!hostAllowed(req.headers.host, hosts)) {
    res.writeHead(421, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
    res.end(`This Rampart does not answer to the name ${String(req.headers.host ?? "")}: set PUBLIC_URL (or ALLOWED_ORIGINS) to the address people use.\n`);
    return;
  }
  req.headers[CLIENT_IP_HEADER] = clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], trusted);
  const headers = securityHeaders({ nonce: randomBytes(16).toString("base64"), https });
  // Next.js takes the nonce for its scripts from the request's policy.
  req.headers["content-security-policy"] = headers["Content-Security-Policy"];
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  handle(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, hostname, () => {
  process.stderr.write(`console listening on http://${hostname}:${port}\n`);
});

// SIGTERM: stop accepting connections, let requests in flight finish. Live event
// streams close themselves on the same signal (server/lifecycle.ts).
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 10_000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
