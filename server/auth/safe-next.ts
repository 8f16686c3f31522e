// Where to send a user after signing in: only a path on this site. Checked the way
// the browser will read it (the URL API), not by looking at the first characters:
// "/\evil.com", "/\t/evil.com" and "//evil.com" all name another host once parsed.
const BASE = "https://rampart.invalid";

export function safeNextPath(next: string | string[] | undefined | null): string {
  if (typeof next !== "string" || !next.startsWith("/")) return "/";
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return "/";
  }
  if (url.origin !== BASE) return "/";
  const path = `${url.pathname}${url.search}${url.hash}`;
  // The normalised path must still be a plain local path (no "//host" left after normalising).
  return path.startsWith("/") && !path.startsWith("//") ? path : "/";
}
