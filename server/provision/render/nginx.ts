// nginx on web servers: the site's configuration and its page. Pure renderers.
import { MANAGED_MARK } from "../resources";

export interface WebSite {
  siteName: string;
  hostName: string;
  port: number;
  root: string;
}

export const MANAGED_HEADER = (site: string) =>
  `# ${MANAGED_MARK} for ${site}. Edits made here are reported as drift and undone by the next apply.`;

export function renderNginxSite(s: WebSite): string {
  return `${MANAGED_HEADER(s.siteName)}
server {
    listen ${s.port} default_server;
    server_name ${s.siteName};
    root ${s.root};
    index index.html;
    access_log /var/log/nginx/rampart-access.log;
    error_log /var/log/nginx/rampart-error.log;

    # The load balancer's health check.
    location = /healthz {
        access_log off;
        default_type text/plain;
        return 200 "ok\\n";
    }

    location / {
        try_files $uri $uri/ =404;
    }
}
`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page each web server serves: it names the host, so a client sees which backend answered. */
export function renderHostPage(s: WebSite): string {
  const site = escapeHtml(s.siteName);
  const host = escapeHtml(s.hostName);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${site}</title></head>
<body>
<h1>${site}</h1>
<p>Served by ${host}</p>
</body>
</html>
`;
}
