// The SSH side of a simulated host: an ssh2 Server on the host's own loopback
// address (Linux routes all of 127.0.0.0/8 to lo), with its own host key. It
// accepts one public key for root, answers exec requests through FleetHost
// (first stderr line: the process group, as renderCancellable's wrapper prints),
// takes SFTP writes (open, write, close: what the executor's upload does), and
// carries direct-tcpip forwards to the TLS that nginx serves on the host's
// loopback (the certificate and client-CA the host's nginx last loaded). A host
// whose HAProxy listens on :443 also answers HTTPS on <address>:443 with the site
// bundle it loaded.
import { createHash } from "node:crypto";
import https from "node:https";
import tls from "node:tls";
import ssh2, { type AuthContext, type Connection, type ServerChannel, type SFTPWrapper } from "ssh2";
import { FleetHost, type Tally } from "./host";
import { parseExec } from "./shell";

const { Server, utils } = ssh2;
const { STATUS_CODE } = utils.sftp;

export interface SimHostSpec {
  name: string;
  address: string;
  /** The host's private key (OpenSSH format). */
  hostKey: string;
}

export interface SimStats {
  connections: number;
  execs: number;
  sftpWrites: number;
  forwards: number;
  tlsHandshakes: number;
  httpsRequests: number;
}

export const newStats = (): SimStats => ({ connections: 0, execs: 0, sftpWrites: 0, forwards: 0, tlsHandshakes: 0, httpsRequests: 0 });

const contexts = new Map<string, tls.SecureContext>();
/** Secure contexts by content: a daemon that reloads the same files serves the same context. */
function contextFor(cert: string, key: string, ca: string | null): tls.SecureContext {
  const k = createHash("sha256")
    .update(cert)
    .update("\0")
    .update(key)
    .update("\0")
    .update(ca ?? "")
    .digest("hex");
  let c = contexts.get(k);
  if (!c) {
    c = tls.createSecureContext({ cert, key, ...(ca ? { ca } : {}), minVersion: "TLSv1.2" });
    contexts.set(k, c);
  }
  return c;
}

const pemBlocks = (bundle: string, type: RegExp) => (bundle.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g) ?? []).filter((b) => type.test(b.slice(11, b.indexOf("-----", 11))));

export async function startSimHost(
  spec: SimHostSpec,
  opts: { port: number; authorizedKey: string; latencyMs: number; tally: Tally; stats: SimStats },
): Promise<{ host: FleetHost; close: () => void }> {
  const host = new FleetHost(spec.name, spec.address, opts.tally);
  const allowed = utils.parseKey(opts.authorizedKey);
  if (allowed instanceof Error) throw allowed;
  const allowedBlob = allowed.getPublicSSH();
  const { stats, tally } = opts;
  let pgid = 1000;

  const onExec = (stream: ServerChannel, line: string) => {
    stats.execs++;
    const input: Buffer[] = [];
    stream.on("data", (d: Buffer) => input.push(d));
    stream.once("end", () => (opts.latencyMs > 0 ? setTimeout(answer, opts.latencyMs) : answer()));
    const answer = () => {
      let code = 127;
      let out = "";
      let err = "";
      try {
        const parsed = parseExec(line);
        if (parsed.cancellable) stream.stderr.write(`RAMPART_PGID=${pgid++}\n`);
        const r = host.exec(parsed.argv, Buffer.concat(input));
        ({ code, stdout: out, stderr: err } = r);
      } catch (e) {
        const key = `unparseable command line`;
        const u = tally.unknown.get(key) ?? { count: 0, example: line.slice(0, 300) };
        u.count++;
        tally.unknown.set(key, u);
        err = `fleet-sim: cannot read the command line: ${(e as Error).message}\n`;
      }
      if (out) stream.write(out);
      if (err) stream.stderr.write(err);
      stream.exit(code);
      stream.end();
    };
  };

  const onSftp = (sftp: SFTPWrapper) => {
    const handles = new Map<number, string>();
    let next = 0;
    const handleOf = (h: Buffer) => (h.length === 4 ? handles.get(h.readUInt32BE(0)) : undefined);
    sftp.on("OPEN", (reqid, filename, _flags, attrs) => {
      const problem = host.sftpOpen(filename, attrs?.mode);
      if (problem) return sftp.status(reqid, problem === "No such file" ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE, problem);
      const h = Buffer.alloc(4);
      h.writeUInt32BE(++next);
      handles.set(next, filename);
      sftp.handle(reqid, h);
    });
    sftp.on("WRITE", (reqid, handle, offset, data) => {
      const f = handleOf(handle);
      if (!f || !host.sftpWrite(f, offset, data)) return sftp.status(reqid, STATUS_CODE.FAILURE);
      stats.sftpWrites++;
      sftp.status(reqid, STATUS_CODE.OK);
    });
    sftp.on("CLOSE", (reqid, handle) => {
      const ok = handle.length === 4 && handles.delete(handle.readUInt32BE(0));
      sftp.status(reqid, ok ? STATUS_CODE.OK : STATUS_CODE.FAILURE);
    });
    for (const op of ["READ", "FSTAT", "FSETSTAT", "OPENDIR", "READDIR", "LSTAT", "STAT", "REMOVE", "RMDIR", "REALPATH", "READLINK", "SETSTAT", "MKDIR", "RENAME", "SYMLINK"] as const) {
      sftp.on(op as "STAT", (reqid: number) => {
        const key = `sftp ${op}`;
        const u = tally.unknown.get(key) ?? { count: 0, example: key };
        u.count++;
        tally.unknown.set(key, u);
        sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED);
      });
    }
  };

  const onForward = (accept: () => ServerChannel, reject: () => void, info: { destIP: string; destPort: number }) => {
    const local = info.destIP === "127.0.0.1" || info.destIP === "localhost" || info.destIP === spec.address;
    const material = local ? host.tlsOn(info.destPort) : null;
    if (!material) return reject();
    stats.forwards++;
    const channel = accept();
    const socket = new tls.TLSSocket(channel as unknown as import("node:net").Socket, {
      isServer: true,
      secureContext: contextFor(material.cert, material.key, material.ca),
      // nginx's ssl_verify_client on: a client certificate from the CA is required.
      requestCert: !!material.ca,
      rejectUnauthorized: !!material.ca,
    });
    socket.on("secure", () => stats.tlsHandshakes++);
    socket.on("data", () => {
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n");
    });
    socket.on("error", () => channel.destroy());
    channel.on("error", () => socket.destroy());
  };

  const server = new Server({ hostKeys: [spec.hostKey], ident: "OpenSSH_9.2p1 Debian-2+deb12u3" }, (client: Connection) => {
    stats.connections++;
    if (process.env.SIM_DEBUG) console.error(`sim: ${new Date().toISOString()} connection to ${spec.name}`);
    if (process.env.SIM_DEBUG) client.on("close", () => console.error(`sim: ${new Date().toISOString()} closed ${spec.name}`));
    client.on("authentication", (ctx: AuthContext) => {
      if (ctx.method !== "publickey" || ctx.username !== "root") return ctx.reject(["publickey"]);
      if (ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowedBlob)) return ctx.reject();
      if (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject();
      ctx.accept();
    });
    client.on("ready", () => {
      // Small packets at once, as the executor does on its side: without it, Nagle's
      // algorithm and delayed ACKs add ~40 ms to every command (a sim artifact).
      (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      client.on("session", (accept) => {
        const session = accept();
        session.on("exec", (acceptExec, _reject, info) => onExec(acceptExec(), info.command));
        session.on("sftp", (acceptSftp) => onSftp(acceptSftp()));
      });
      client.on("tcpip", (accept, reject, info) => onForward(accept, reject, info));
    });
    client.on("error", () => {});
  });

  // HTTPS on the host's address, answered while HAProxy serves :443 (with the bundle it loaded).
  const web = https.createServer(
    {
      SNICallback: (_name, cb) => {
        const bundle = host.siteBundle();
        if (!bundle) return cb(new Error("nothing serves :443"));
        cb(null, contextFor(pemBlocks(bundle, /CERTIFICATE/).join("\n"), pemBlocks(bundle, /PRIVATE KEY/)[0] ?? "", null));
      },
    },
    (req, res) => {
      stats.httpsRequests++;
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`${host.name}: ok\n`);
    },
  );
  web.on("tlsClientError", () => {});

  await Promise.all([
    new Promise<void>((resolve, reject) => server.once("error", reject).listen(opts.port, spec.address, () => resolve())),
    new Promise<void>((resolve, reject) => web.once("error", reject).listen(443, spec.address, () => resolve())),
  ]);
  return {
    host,
    close: () => {
      server.close();
      web.close();
    },
  };
}
