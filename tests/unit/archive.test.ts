// App archives are unpacked as root on the app servers: only files, directories and
// symbolic links that stay inside the archive pass, within limits, and what is kept is
// a re-packed archive holding exactly what was checked. The crafted archives in
// tests/fixtures/archives (made by make.py there) desynchronised the hand-written
// checker this replaced from GNU tar: each hides an entry GNU tar unpacks.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, linkSync, chmodSync, readlinkSync, lstatSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { ARCHIVE_LIMITS, inspectArchive, repackArchive } from "@/server/provision/archive";

function archive(setup: (dir: string) => string[], tarArgs: string[] = []): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-tar-"));
  const src = path.join(dir, "src");
  mkdirSync(src);
  const members = setup(src);
  const out = path.join(dir, "a.tar.gz");
  execFileSync("tar", ["-czf", out, ...tarArgs, "-C", src, ...members]);
  return readFileSync(out);
}
const fixture = (name: string) => readFileSync(path.join("tests/fixtures/archives", name));
/** What GNU tar lists in an archive (types and names), warnings ignored. */
const gnuList = (gz: Buffer) => {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), "rampart-tar-")), "x.tar.gz");
  writeFileSync(f, gz);
  try {
    return execFileSync("tar", ["-tvzf", f], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? "");
  }
};

describe("inspectArchive", () => {
  it("accepts files, directories and symbolic links inside the archive, long names included", async () => {
    const gz = archive((d) => {
      mkdirSync(path.join(d, "lib"));
      writeFileSync(path.join(d, "app.py"), "print(1)\n");
      writeFileSync(path.join(d, "lib", `${"x".repeat(150)}.py`), "");
      symlinkSync("../app.py", path.join(d, "lib", "main.py"));
      return ["app.py", "lib"];
    });
    expect(await inspectArchive(gz)).toEqual({ entries: 4, unpackedBytes: 9 });
  });

  it("refuses links out of the archive, absolute and .. paths, hard links and devices", async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [archive((d) => (symlinkSync("/etc/shadow", path.join(d, "s")), ["s"])), /symbolic link to an absolute path/],
      [archive((d) => (symlinkSync("../../etc", path.join(d, "s")), ["s"])), /leads out of the archive/],
      [archive((d) => (writeFileSync(path.join(d, "a"), "x"), linkSync(path.join(d, "a"), path.join(d, "b")), ["a", "b"])), /a hard link is not allowed/],
      [archive((d) => (execFileSync("mknod", [path.join(d, "mem"), "c", "1", "1"]), ["mem"])), /a character device is not allowed/],
      [archive((d) => (writeFileSync(path.join(d, "x"), "x"), ["x"]), ["--transform", "s,^,../,"]), /".." is not allowed/],
      [archive((d) => (writeFileSync(path.join(d, "x"), "x"), ["x"]), ["--absolute-names", "--transform", "s,^,/,"]), /absolute paths are not allowed/],
      [gzipSync(Buffer.from("not a tar")), /not a valid tar archive|empty/],
      [Buffer.from("plain"), /not valid gzip data/],
    ];
    for (const [gz, why] of cases) await expect(inspectArchive(gz)).rejects.toThrow(why);
  });

  it("refuses the crafted archives that hid entries from the old checker, naming what GNU tar would have unpacked", async () => {
    const cases: Array<[string, RegExp, RegExp]> = [
      // [fixture, what GNU tar lists in it, why Rampart refuses it]
      ["base256-size.tar.gz", /^c.* dev-sda$/m, /dev-sda: a character device is not allowed/],
      ["bad-checksum.tar.gz", /^h.* shadow link to etc\/shadow$/m, /not a valid tar archive/],
      ["pax-size.tar.gz", /^l.* root -> \/$/m, /root: a symbolic link to an absolute path/],
      ["device.tar.gz", /^c.* dev-sda$/m, /a character device is not allowed/],
      ["hardlink.tar.gz", /^h.* shadow link to etc\/shadow$/m, /a hard link is not allowed/],
      ["symlink-out.tar.gz", /etc -> \.\.\/\.\.\/etc/, /leads out of the archive/],
      ["symlink-chain.tar.gz", /escape -> d\/up\/\.\./, /goes through another link/],
      ["through-link.tar.gz", /conf\/x$/m, /conf\/x: lies under the symbolic link conf/],
    ];
    for (const [name, listed, why] of cases) {
      expect(gnuList(fixture(name)), name).toMatch(listed);
      await expect(inspectArchive(fixture(name)), name).rejects.toThrow(why);
    }
  });

  it("enforces the limits: size, compression ratio, entries, path length, duplicates", async () => {
    await expect(inspectArchive(fixture("bomb.tar.gz"))).rejects.toThrow(/gzip bomb/);
    await expect(inspectArchive(fixture("bomb.tar.gz"), { ...ARCHIVE_LIMITS, maxUnpackedBytes: 8 * 1024 * 1024 })).rejects.toThrow(/unpacks to more than 8 MB/);
    const many = archive((d) => {
      for (let i = 0; i < 30; i++) writeFileSync(path.join(d, `f${i}`), "");
      return readdirSync(d);
    });
    await expect(inspectArchive(many, { ...ARCHIVE_LIMITS, maxEntries: 20 })).rejects.toThrow(/more than 20 entries/);
    const deep = archive((d) => {
      const p = path.join(d, ...Array.from({ length: 12 }, () => "a".repeat(100)));
      mkdirSync(p, { recursive: true });
      writeFileSync(path.join(p, "f"), "");
      return ["a".repeat(100)];
    });
    await expect(inspectArchive(deep)).rejects.toThrow(/paths longer than 1024 bytes/);
    const twice = archive((d) => (writeFileSync(path.join(d, "a"), "1"), ["a", "a"]));
    await expect(inspectArchive(twice)).rejects.toThrow(/a: appears twice/);
  });
});

describe("repackArchive", () => {
  it("keeps exactly what was checked: normalised names and modes, no owners, links last; GNU tar unpacks the same tree", async () => {
    const gz = archive((d) => {
      mkdirSync(path.join(d, "bin"));
      writeFileSync(path.join(d, "bin", "run"), "#!/bin/sh\necho hi\n");
      chmodSync(path.join(d, "bin", "run"), 0o4775); // setuid and group-writable: dropped
      writeFileSync(path.join(d, "app.py"), "print(1)\n");
      chmodSync(path.join(d, "app.py"), 0o666);
      symlinkSync("bin/run", path.join(d, "start"));
      return ["./start", "./app.py", "./bin"];
    });
    const r = await repackArchive(gz);
    expect(r.entries).toBe(4);
    expect(await inspectArchive(r.archive)).toEqual({ entries: 4, unpackedBytes: r.unpackedBytes });
    const listing = gnuList(r.archive).trim().split("\n");
    expect(listing.at(-1)).toMatch(/^lrwxrwxrwx 0\/0 .* start -> bin\/run$/);
    expect(listing.find((l) => l.endsWith(" bin/run"))).toMatch(/^-rwxr-xr-x 0\/0 /);
    expect(listing.find((l) => l.endsWith(" app.py"))).toMatch(/^-rw-r--r-- 0\/0 /);
    const out = mkdtempSync(path.join(os.tmpdir(), "rampart-untar-"));
    const f = path.join(out, "a.tar.gz");
    writeFileSync(f, r.archive);
    mkdirSync(path.join(out, "x"));
    execFileSync("tar", ["-xzf", f, "-C", path.join(out, "x"), "--no-same-owner", "--no-same-permissions"]);
    expect(readlinkSync(path.join(out, "x", "start"))).toBe("bin/run");
    expect(lstatSync(path.join(out, "x", "bin", "run")).mode & 0o7777).toBe(0o755 & ~process.umask());
    expect(readFileSync(path.join(out, "x", "app.py"), "utf8")).toBe("print(1)\n");
  });
});
