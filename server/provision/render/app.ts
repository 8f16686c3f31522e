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

/**
 * Rampart's sample app: answers with the name of the app server and of the web server
 * that asked; with a database, writes and reads rows through the credentials Rampart
 * gives it (the primary for writes, a replica for reads), over TLS verified against
 * Rampart's internal CA.
 */
export const SAMPLE_APP = `# Rampart's sample app: shows which app server answered, and through which web server.
# With a database (DB_HOST…): POST /db writes a row on the primary, GET /db counts them;
# GET /db/replica reads from a replica, POST /db/replica tries to write there (refused).
import http.server
import json
import os

PORT = int(os.environ.get("PORT", "8000"))
SERVER = os.environ.get("RAMPART_SERVER", "?")
SITE = os.environ.get("RAMPART_SITE", "?")
TABLE = (
    "CREATE TABLE IF NOT EXISTS sample_rows (id BIGINT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200) NOT NULL, "
    "written_by VARCHAR(100) NOT NULL, written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
)


def connect(host):
    import pymysql

    return pymysql.connect(
        host=host,
        port=int(os.environ.get("DB_PORT", "3306")),
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
        database=os.environ["DB_NAME"],
        ssl_ca=os.environ["DB_SSL_CA"],
        ssl_verify_cert=True,
        ssl_verify_identity=True,
        connect_timeout=3,
        read_timeout=5,
        write_timeout=5,
        autocommit=True,
    )


def database(method, replica, note):
    if not os.environ.get("DB_HOST"):
        return 404, {"error": "this topology has no database"}
    hosts = [h for h in os.environ.get("DB_REPLICA_HOSTS", "").split(",") if h] if replica else [os.environ["DB_HOST"]]
    if not hosts:
        return 404, {"error": "this topology has no replica"}
    try:
        conn = connect(hosts[0])
    except Exception as e:
        return 503, {"server": hosts[0], "error": str(e)}
    try:
        with conn.cursor() as c:
            c.execute("SHOW STATUS LIKE 'Ssl_cipher'")
            cipher = c.fetchone()[1]
            if method == "POST":
                if not replica:
                    c.execute(TABLE)
                try:
                    c.execute("INSERT INTO sample_rows (note, written_by) VALUES (%s, %s)", (note[:200], SERVER))
                except Exception as e:
                    return (409 if replica else 503), {"server": hosts[0], "error": str(e)}
                return 200, {"server": hosts[0], "id": c.lastrowid, "tls": cipher}
            try:
                c.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM sample_rows")
                rows, last = c.fetchone()
            except Exception:
                rows, last = 0, 0
            return 200, {"server": hosts[0], "rows": rows, "last": last, "tls": cipher}
    finally:
        conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body, kind="text/plain; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def db(self, method):
        note = ""
        if method == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            note = self.rfile.read(min(n, 4096)).decode("utf-8", "replace") if n else ""
        status, data = database(method, self.path == "/db/replica", note)
        self.reply(status, (json.dumps(data) + "\\n").encode(), "application/json")

    def do_GET(self):
        if self.path in ("/db", "/db/replica"):
            return self.db("GET")
        if self.path == "/healthz":
            body = b"ok\\n"
        else:
            web = self.headers.get("X-Rampart-Web", "?")
            body = f"{SITE}: app on {SERVER}, through web server {web}\\n".encode()
        self.reply(200, body)

    def do_POST(self):
        if self.path in ("/db", "/db/replica"):
            return self.db("POST")
        self.reply(404, b"not found\\n")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
`;
