// App archives are unpacked as root on the app servers: only files, directories
// and symbolic links that stay inside the archive pass. Archives made by GNU tar.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, linkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { inspectArchive } from "@/server/provision/archive";

function archive(setup: (dir: string) => string[], tarArgs: string[] = []): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-tar-"));
  const src = path.join(dir, "src");
  mkdirSync(src);
  const members = setup(src);
  const out = path.join(dir, "a.tar.gz");
  execFileSync("tar", ["-czf", out, ...tarArgs, "-C", src, ...members]);
  return readFileSync(out);
}

describe("inspectArchive", () => {
  it("accepts files, directories and symbolic links inside the archive, long names included", () => {
    const gz = archive((d) => {
      mkdirSync(path.join(d, "lib"));
      writeFileSync(path.join(d, "app.py"), "print(1)\n");
      writeFileSync(path.join(d, "lib", `${"x".repeat(150)}.py`), "");
      symlinkSync("../app.py", path.join(d, "lib", "main.py"));
      return ["app.py", "lib"];
    });
    expect(inspectArchive(gz)).toEqual({ entries: 4, unpackedBytes: 9 });
  });

  it("refuses links out of the archive, absolute and .. paths, hard links and devices", () => {
    const cases: Array<[Buffer, RegExp]> = [
      [archive((d) => (symlinkSync("/etc/shadow", path.join(d, "s")), ["s"])), /symbolic link to an absolute path/],
      [archive((d) => (symlinkSync("../../etc", path.join(d, "s")), ["s"])), /leads out of the archive/],
      [archive((d) => (writeFileSync(path.join(d, "a"), "x"), linkSync(path.join(d, "a"), path.join(d, "b")), ["a", "b"])), /a hard link is not allowed/],
      [archive((d) => (execFileSync("mknod", [path.join(d, "mem"), "c", "1", "1"]), ["mem"])), /a character device is not allowed/],
      [archive((d) => (writeFileSync(path.join(d, "x"), "x"), ["x"]), ["--transform", "s,^,../,"]), /".." is not allowed/],
      [archive((d) => (writeFileSync(path.join(d, "x"), "x"), ["x"]), ["--absolute-names", "--transform", "s,^,/,"]), /absolute paths are not allowed/],
      [gzipSync(Buffer.from("not a tar")), /not a tar archive|empty/],
      [Buffer.from("plain"), /not valid gzip data/],
    ];
    for (const [gz, why] of cases) expect(() => inspectArchive(gz)).toThrow(why);
  });
});
