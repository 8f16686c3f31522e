// Certificates made by openssl (an implementation independent of Rampart's):
// a root CA → intermediate → leaf chain for a site, and a leaf for another name.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TestChain {
  dir: string;
  root: string;
  int: string;
  leaf: string;
  leafKey: string;
  other: string;
  otherKey: string;
}

export function makeChain(site = "www.foobar.test"): TestChain {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-chain-"));
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", "root.key", "-out", "root.pem", "-days", "30", "-subj", "/CN=Test Root", "-addext", "basicConstraints=critical,CA:true");
  openssl("req", ...ec, "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=Test Intermediate");
  writeFileSync(f("int.ext"), "basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign\n");
  openssl("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "int.pem", "-days", "30", "-extfile", "int.ext");
  for (const [name, san] of [
    ["leaf", `DNS:${site}`],
    ["other", "DNS:www.other.test"],
  ] as const) {
    openssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${san.slice(4)}`);
    writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "10", "-extfile", `${name}.ext`);
  }
  const r = (n: string) => readFileSync(f(n), "utf8");
  return { dir, root: r("root.pem"), int: r("int.pem"), leaf: r("leaf.pem"), leafKey: r("leaf.key"), other: r("other.pem"), otherKey: r("other.key") };
}
