// A certificate file in a plan reads as which certificate replaces which (fingerprints),
// not as lines of base64; other files keep their diff.
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { certificateFingerprint, diffFile, isCertificateFile, sha256, type FileRes } from "@/server/provision/resources";
import { makeChain } from "../support/cert-fixtures";

const chain = makeChain();
const short = (pem: string) => `SHA256 ${new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase().slice(0, 16)}…`;
const file = (content: string): FileRes => ({ kind: "file", tier: "web", path: "/etc/rampart/tls/backend.pem", content, mode: 0o644, owner: "root", group: "root" }) as FileRes;
const on = (content: string) => ({ kind: "path" as const, type: "file" as const, mode: 0o644, owner: "root", group: "root", sha256: sha256(content), content });

describe("certificate files in a plan", () => {
  it("are told apart from other files (a chain counts; a key or a config does not)", () => {
    expect(isCertificateFile(chain.leaf + chain.int)).toBe(true);
    expect(isCertificateFile(chain.leafKey)).toBe(false);
    expect(isCertificateFile(`ssl_certificate x;\n${chain.leaf}`)).toBe(false);
  });

  it("read as replaced, old fingerprint → new, without a diff", () => {
    const c = diffFile(file(chain.other + chain.int), on(chain.leaf + chain.int), [])!;
    expect(c.verb).toBe("update");
    expect(c.diff).toBeNull();
    expect(c.summary).toBe(`replace the certificate /etc/rampart/tls/backend.pem (${short(chain.leaf)} → ${short(chain.other)})`);
    expect(certificateFingerprint(chain.leaf)).toBe(short(chain.leaf));
  });

  it("read as created with the new fingerprint; a config file keeps its line diff", () => {
    expect(diffFile(file(chain.leaf), { kind: "path", type: "absent", mode: null, owner: null, group: null, sha256: null, content: null }, [])).toMatchObject({
      verb: "create",
      diff: null,
      summary: `create /etc/rampart/tls/backend.pem (certificate ${short(chain.leaf)})`,
    });
    expect(diffFile(file("listen 443;\n"), on("listen 80;\n"), [])!.diff).toContain("+listen 443;");
  });
});
