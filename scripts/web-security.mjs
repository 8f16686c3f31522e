// What the console's HTTP server adds to every response, and which Host headers it
// answers. Plain JavaScript, pure: used by scripts/web-server.mjs, tested by vitest.
//   - A Content-Security-Policy with a fresh nonce per request: Next.js reads it from the
//     request's own CSP header and puts it on its scripts; nothing else runs.
//   - frame-ancestors 'none', X-Content-Type-Options, Referrer-Policy, and HSTS when the
//     console is served over HTTPS (PUBLIC_URL https://…).
//   - A Host allowlist against DNS rebinding: a page on another site that re-points its
//     own name at this console cannot talk to it, because that name is not allowed.
import net from "node:net";

/** The policy for one response. Styles may be inline (React sets style attributes); scripts only with the nonce. */
export function contentSecurityPolicy(nonce) {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers every response carries. */
export function securityHeaders({ nonce, https }) {
  return {
    "Content-Security-Policy": contentSecurityPolicy(nonce),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    ...(https ? { "Strict-Transport-Security": "max-age=31536000" } : {}),
  };
}

/** The host names (lowercase, no port) the console answers to: localhost, PUBLIC_URL's and ALLOWED_ORIGINS' hosts. */
export function allowedHosts({ publicUrl, allowedOrigins }) {
  const hosts = new Set(["localhost"]);
  for (const u of [publicUrl, ...String(allowedOrigins ?? "").split(",")]) {
    const s = String(u ?? "").trim();
    if (!s) continue;
    try {
      hosts.add(new URL(s).hostname.toLowerCase().replace(/^\[|\]$/g, ""));
    } catch {
      /* env validation reports a bad URL */
    }
  }
  return hosts;
}

/**
 * Whether a request's Host header may be answered. IP literals always may (a rebinding
 * page has to use a name of its own), as may names in the allowlist and their *.localhost.
 */
export function hostAllowed(hostHeader, allowed) {
  const raw = String(hostHeader ?? "")
    .trim()
    .toLowerCase();
  if (!raw) return false;
  let host = raw;
  if (host.startsWith("[")) host = host.slice(1, host.indexOf("]"));
  else if (host.includes(":") && net.isIP(host) !== 6) host = host.slice(0, host.lastIndexOf(":"));
  host = host.replace(/\.$/, "");
  if (net.isIP(host) !== 0) return true;
  return allowed.has(host) || host.endsWith(".localhost");
}
