export function contentSecurityPolicy(nonce: string): string;
export function securityHeaders(opts: { nonce: string; https: boolean }): Record<string, string>;
export function allowedHosts(opts: { publicUrl?: string | null; allowedOrigins?: string | null }): Set<string>;
export function hostAllowed(hostHeader: string | undefined | null, allowed: Set<string>): boolean;
