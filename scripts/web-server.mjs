// The console's HTTP server: Next.js's request handler behind a plain Node server,
// so that Rampart (not the client) says which address a request came from. Login
// throttling and the audit log rely on it: a client-sent X-Forwarded-For is only
// believed with TRUST_PROXY=true (Rampart behind a reverse proxy that sets it).
import http from "node:http";
import next from "next";

const port = Number(process.env.PORT || 3000);
const hostname = process.env.BIND_ADDRESS || "127.0.0.1";
const trustProxy = process.env.TRUST_PROXY === "true" || process.env.TRUST_PROXY === "1";
const CLIENT_IP_HEADER = "x-rampart-client-ip";

const app = next({ dev: false, hostname, port, dir: process.cwd() });
const handle = app.getRequestHandler();
await app.prepare();

function clientAddress(req) {
  if (trustProxy) {
    // The last entry was added by the proxy in front of us; earlier ones the client may have made up.
    const forwarded = String(req.headers["x-forwarded-for"] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (forwarded.length > 0) return forwarded[forwarded.length - 1];
  }
  return (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
}

const server = http.createServer((req, res) => {
  req.headers[CLIENT_IP_HEADER] = clientAddress(req);
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
