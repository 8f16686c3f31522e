export function prometheusConfig(o: { dir: string; rampartTarget?: string | null; alertmanager?: string | null; scrapeInterval?: string }): string;
