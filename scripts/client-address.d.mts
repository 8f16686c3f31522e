import type { BlockList } from "node:net";
export function trustedProxies(value: string | undefined | null): BlockList;
export function clientAddress(peer: string | undefined | null, forwardedFor: string | string[] | undefined | null, trusted: BlockList): string;
