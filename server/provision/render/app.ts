// The application service on app servers: a systemd unit, its environment file,
// and Rampart's sample app. Pure renderers.
import { MANAGED_HEADER } from "./nginx";

export interface AppUnit {
  siteName: string;
  user: string;
  workingDirectory: string;
  startCommand: string;
  envFile: string;
}

export function renderAppUnit(u: AppUnit): string {
  return `${MANAGED_HEADER(u.siteName)}
[Unit]
Description=The application of ${u.siteName} (managed by Rampart)
After=network-online.target
Wants=network-online.target

[Service]
User=${u.user}
Group=${u.user}
WorkingDirectory=${u.workingDirectory}
EnvironmentFile=${u.envFile}
ExecStart=${u.startCommand.replace(/%/g, "%%")}
Restart=always
RestartSec=2
# The app runs unprivileged and sees the system read-only: it may write only in its
# state directory (/var/lib/rampart-app, $STATE_DIRECTORY) and its private /tmp.
StateDirectory=rampart-app
UMask=0027
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;
}

/** systemd EnvironmentFile syntax: values double-quoted, with \\ and " escaped. */
export function renderEnvFile(vars: Array<[string, string]>): string {
  return vars.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join("\n") + "\n";
}

/** Rampart's sample app: answers with the name of the app server and of the web server that asked. */
export const SAMPLE_APP = `# Rampart's sample app: shows which app server answered, and through which web server.
import http.server
import os

PORT = int(os.environ.get("PORT", "8000"))
SERVER = os.environ.get("RAMPART_SERVER", "?")
SITE = os.environ.get("RAMPART_SITE", "?")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/healthz":
            body = b"ok\\n"
        else:
            web = self.headers.get("X-Rampart-Web", "?")
            body = f"{SITE}: app on {SERVER}, through web server {web}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
`;
