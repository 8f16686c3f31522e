// A fixed-rate load generator for the browser tests: HTTPS requests to an address (with
// the site's name for SNI and Host), each on a new connection, as many as the clock says
// are due; counts the answers.
import https from "node:https";

export function fixedRateLoad(o: { address: string; name: string; rate: number }) {
  const started = Date.now();
  let sent = 0;
  const counts = { ok: 0, failed: 0 };
  const one = () => {
    const req = https.request(
      // The rate is what is measured here, not the certificate (the site's chain is checked elsewhere).
      { host: o.address, port: 443, servername: o.name, path: "/", headers: { host: o.name }, agent: false, rejectUnauthorized: false, timeout: 5000 },
      (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? counts.ok++ : counts.failed++));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => counts.failed++);
    req.end();
  };
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * o.rate);
    while (sent < due) {
      one();
      sent++;
    }
  }, 5);
  return {
    counts,
    /** Requests answered 200 per second so far. */
    measured: () => counts.ok / ((Date.now() - started) / 1000),
    stop: () => clearInterval(timer),
  };
}
