// Debian's Pebble (a small ACME CA for tests) and its DNS stand-in, on the lab
// bridge: Pebble validates HTTP-01 by connecting to the lab hosts on port 80, and
// resolves test names through pebble-challtestsrv, which answers what the test set.
// Nothing here reaches a public CA or resolver.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { createCa, issueServerCert } from "@/server/pki/x509";
import { waitUntil } from "./processes";

export interface Pebble {
  directoryUrl: string;
  /** The CA of Pebble's own HTTPS certificate (what an account's trustPem is). */
  tlsCaPem: string;
  /** The root that issues the certificates (it changes at every start of Pebble). */
  issuingRoot(): Promise<string>;
  /** Resolves `name` to `address` for Pebble's validation. */
  addA(name: string, address: string): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Pebble's and the DNS stand-in's output. */
  output(): string;
  close(): Promise<void>;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

function post(url: string, body: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * Starts Pebble on `address` (the lab bridge): ACME on :14000, management on :15000,
 * HTTP-01 validation against port 80. `validityS` makes short-lived certificates.
 */
export async function startPebble(
  address: string,
  opts: {
    validityS?: number;
    ports?: { acme: number; mgmt: number; dns: number; dnsMgmt: number };
    /** External Account Binding required, with these key ids and base64url HMAC keys. */
    eab?: Record<string, string>;
  } = {},
): Promise<Pebble> {
  const ports = opts.ports ?? { acme: 14000, mgmt: 15000, dns: 18053, dnsMgmt: 18055 };
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-pebble-"));
  const ca = await createCa("Pebble test TLS CA");
  const tls = await issueServerCert(ca, [address, "127.0.0.1"], new Date(), 30);
  writeFileSync(path.join(dir, "cert.pem"), tls.certPem);
  writeFileSync(path.join(dir, "key.pem"), tls.keyPem, { mode: 0o600 });
  writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `${address}:${ports.acme}`,
        managementListenAddress: `${address}:${ports.mgmt}`,
        certificate: path.join(dir, "cert.pem"),
        privateKey: path.join(dir, "key.pem"),
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: "",
        externalAccountBindingRequired: !!opts.eab,
        ...(opts.eab ? { externalAccountMACKeys: opts.eab } : {}),
        ...(opts.validityS ? { certificateValidityPeriod: opts.validityS } : {}),
      },
    }),
  );
  let log = "";
  const dns = spawn(
    "pebble-challtestsrv",
    ["-dns01", `127.0.0.1:${ports.dns}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv4", "", "-defaultIPv6", "", "-management", `127.0.0.1:${ports.dnsMgmt}`],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  dns.stdout!.on("data", (d) => (log += d));
  dns.stderr!.on("data", (d) => (log += d));
  let pebble: ChildProcess | null = null;
  const start = async () => {
    pebble = spawn("pebble", ["-config", path.join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${ports.dns}`], {
      // No random sleeps before validation; nonces are never refused at random; every order validates anew.
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    pebble.stdout!.on("data", (d) => (log += d));
    pebble.stderr!.on("data", (d) => (log += d));
    await waitUntil(
      async () => {
        try {
          return (await get(`https://${address}:${ports.acme}/dir`, ca.certPem)).status === 200;
        } catch {
          return false;
        }
      },
      15_000,
      `Pebble to answer on ${address}:${ports.acme}\n${log}`,
    );
  };
  const stop = async () => {
    const p = pebble;
    pebble = null;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await gone;
  };
  await start();
  const names = new Map<string, string>();
  return {
    directoryUrl: `https://${address}:${ports.acme}/dir`,
    tlsCaPem: ca.certPem,
    issuingRoot: async () => (await get(`https://${address}:${ports.mgmt}/roots/0`, ca.certPem)).body,
    async addA(name, addr) {
      names.set(name, addr);
      const status = await post(`http://127.0.0.1:${ports.dnsMgmt}/add-a`, { host: `${name}.`, addresses: [addr] });
      if (status !== 200) throw new Error(`pebble-challtestsrv refused add-a for ${name}: HTTP ${status}`);
    },
    stop,
    start,
    output: () => log,
    async close() {
      await stop();
      const gone = new Promise((r) => (dns.exitCode !== null ? r(null) : dns.once("exit", r)));
      dns.kill("SIGTERM");
      await gone;
    },
  };
}
