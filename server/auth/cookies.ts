// The session cookie: HttpOnly, SameSite=Lax; Secure and __Host- prefixed when the
// console is served over HTTPS.
export const PLAIN_COOKIE = "rampart_session";
export const SECURE_COOKIE = "__Host-rampart_session";

export function isHttps(requestUrl: string | null, publicUrl: string | undefined): boolean {
  if (publicUrl) return publicUrl.startsWith("https://");
  return requestUrl?.startsWith("https://") ?? false;
}

export function sessionCookie(token: string, secure: boolean, maxAgeSeconds: number): string {
  const name = secure ? SECURE_COOKIE : PLAIN_COOKIE;
  return [`${name}=${token}`, "Path=/", "HttpOnly", "SameSite=Lax", `Max-Age=${maxAgeSeconds}`, ...(secure ? ["Secure"] : [])].join("; ");
}

export function clearSessionCookie(secure: boolean): string {
  return sessionCookie("", secure, 0);
}

/**
 * The session token from a Cookie header. Over HTTPS only the __Host- cookie counts:
 * a plain-named one could have been planted by a sibling domain or over HTTP.
 */
export function readSessionToken(cookieHeader: string | null, secureOnly = false): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === SECURE_COOKIE || (name === PLAIN_COOKIE && !secureOnly)) {
      const value = part.slice(eq + 1).trim();
      if (value) return value;
    }
  }
  return null;
}
