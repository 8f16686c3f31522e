export function prometheusConfig(o: { dir: string; rampartTarget?: string | null; alertmanager?: string | null; scrapeInterval?: string; evaluationInterval?: string }): string;
export function alertmanagerConfig(o: { rampartUrl: string; tokenFile: string; webhooks?: string[] }): string;
