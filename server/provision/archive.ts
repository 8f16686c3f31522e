// Checking an uploaded app archive (.tar.gz) before it is kept, and re-packing it.
// The worker unpacks it as root on every app server, so the archive is read with a
// maintained tar reader (tar-stream: pax records, GNU long names and base-256 sizes,
// header checksums) and only plain files, directories, and symbolic links that stay
// inside the tree are accepted, within limits. What is kept is a NEW archive written
// from what was read — normalised names and modes, no owners, symbolic links last —
// so the host unpacks exactly what was checked, whatever tricks the upload played
// on another tar implementation (GNU tar skips a header with a bad checksum and reads
// on; a checker that trusts a different size than tar does reads other entries).
import { createHash } from "node:crypto";
import path from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import tarStream from "tar-stream";

export interface ArchiveLimits {
  /** Most an archive may unpack to. */
  maxUnpackedBytes: number;
  maxEntries: number;
  /** Longest path inside the archive (a component at most 255 bytes). */
  maxPathBytes: number;
  /** Unpacked ÷ compressed size, checked once the archive unpacks past 16 MiB (a gzip bomb). */
  maxRatio: number;
}

export const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;
export const ARCHIVE_LIMITS: ArchiveLimits = { maxUnpackedBytes: MAX_UNPACKED_BYTES, maxEntries: 100_000, maxPathBytes: 1024, maxRatio: 200 };
const RATIO_FROM_BYTES = 16 * 1024 * 1024;

export class ArchiveError extends Error {
  override name = "ArchiveError";
}

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

function checkName(raw: string, limits: ArchiveLimits): string {
  if (raw.startsWith("/")) throw new ArchiveError(`${raw}: absolute paths are not allowed in the archive`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new ArchiveError(`${raw}: ".." is not allowed in the archive's paths`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new ArchiveError(`${JSON.stringify(raw)}: control characters are not allowed in the archive's paths`);
  const name = parts.join("/");
  if (Buffer.byteLength(name) > limits.maxPathBytes) throw new ArchiveError(`${name.slice(0, 60)}…: paths longer than ${limits.maxPathBytes} bytes are not allowed`);
  if (parts.some((p) => Buffer.byteLength(p) > 255)) throw new ArchiveError(`${name.slice(0, 60)}…: a path component longer than 255 bytes is not allowed`);
  return name;
}

const TYPE_NAMES: Record<string, string> = {
  link: "a hard link",
  "character-device": "a character device",
  "block-device": "a block device",
  fifo: "a FIFO",
  "contiguous-file": "a contiguous file",
};

export interface ArchiveSummary {
  entries: number;
  unpackedBytes: number;
}

type Header = tarStream.Header;
/** An entry's data, as the reader hands it over. */
type Source = tarStream.ExtractEvents["entry"][1];

/**
 * Reads the archive and checks every entry; with `repack`, writes each accepted entry
 * (directories and files in order, symbolic links at the end) into a new archive.
 * Throws ArchiveError naming the first entry, or the limit, that is not allowed.
 */
async function walk(gz: Buffer, limits: ArchiveLimits, repack: boolean): Promise<ArchiveSummary & { archive: Buffer | null }> {
  if (gz.length < 2 || gz[0] !== 0x1f || gz[1] !== 0x8b) throw new ArchiveError("the archive is not valid gzip data");
  let unpacked = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      unpacked += chunk.length;
      if (unpacked > limits.maxUnpackedBytes + 1024 * 1024) return cb(new ArchiveError(`the archive unpacks to more than ${mb(limits.maxUnpackedBytes)}`));
      if (unpacked > RATIO_FROM_BYTES && unpacked / gz.length > limits.maxRatio)
        return cb(new ArchiveError(`the archive unpacks to more than ${limits.maxRatio} times its size (${mb(unpacked)} so far from ${mb(gz.length)}): refused as a gzip bomb`));
      cb(null, chunk);
    },
  });
  const extract = tarStream.extract();
  const pack = repack ? tarStream.pack() : null;
  const packed: Buffer[] = [];
  const packing = pack
    ? pipeline(
        pack,
        createGzip({ level: 6 }),
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            packed.push(chunk);
            cb();
          },
        }),
      )
    : Promise.resolve();

  const names = new Set<string>();
  const links = new Map<string, string>();
  let entries = 0;
  let bytes = 0;
  const mtime = new Date(0);

  extract.on("entry", (h: Header, stream: Source, next: (err?: Error | null) => void) => {
    const fail = (err: unknown) => {
      stream.resume();
      next(err instanceof Error ? err : new Error(String(err)));
    };
    try {
      const name = checkName(h.name, limits);
      const type = h.type ?? "file";
      if (++entries > limits.maxEntries) throw new ArchiveError(`the archive holds more than ${limits.maxEntries} entries`);
      if (name === "") {
        // The archive's own top directory ("./"): nothing to create.
        if (type !== "directory") throw new ArchiveError(`${h.name}: an entry without a name is not allowed`);
        stream.resume();
        stream.on("end", () => next());
        return;
      }
      if (names.has(name)) throw new ArchiveError(`${name}: appears twice in the archive (one would replace the other as it unpacks)`);
      names.add(name);
      if (type === "file") {
        bytes += h.size ?? 0;
        if (bytes > limits.maxUnpackedBytes) throw new ArchiveError(`the archive unpacks to more than ${mb(limits.maxUnpackedBytes)}`);
        const mode = (h.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
        if (!pack) {
          stream.resume();
          stream.on("end", () => next());
          stream.on("error", fail);
          return;
        }
        const out = pack.entry({ name, type: "file", size: h.size ?? 0, mode, mtime, uid: 0, gid: 0 });
        pipeline(stream, out).then(() => next(), fail);
        return;
      }
      if (type === "directory") {
        pack?.entry({ name, type: "directory", mode: 0o755, mtime, uid: 0, gid: 0 });
      } else if (type === "symlink") {
        const link = h.linkname ?? "";
        if (link === "" || link.startsWith("/")) throw new ArchiveError(`${name}: a symbolic link to an absolute path (${link || "nothing"}) is not allowed`);
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(name), link));
        if (target === ".." || target.startsWith("../")) throw new ArchiveError(`${name}: a symbolic link that leads out of the archive (${link}) is not allowed`);
        links.set(name, link);
      } else {
        throw new ArchiveError(`${name}: ${TYPE_NAMES[type] ?? `an entry of type "${type}"`} is not allowed; only files, directories and symbolic links inside the archive`);
      }
      stream.resume();
      stream.on("end", () => next());
    } catch (err) {
      fail(err);
    }
  });

  try {
    await pipeline(Readable.from([gz]), createGunzip(), counter, extract);
  } catch (err) {
    pack?.destroy();
    await packing.catch(() => {});
    if (err instanceof ArchiveError) throw err;
    const message = String((err as Error)?.message ?? err);
    // zlib's errors carry a Z_ code; the rest are the tar reader's (a bad checksum, a truncated archive).
    if (String((err as { code?: string })?.code ?? "").startsWith("Z_")) throw new ArchiveError(`the archive is not valid gzip data (${message})`);
    throw new ArchiveError(`the archive is not a valid tar archive: ${message}`);
  }
  if (entries === 0 || names.size === 0) {
    pack?.destroy();
    throw new ArchiveError("the archive is empty");
  }
  // Nothing may be reached through a symbolic link of the archive: no entry under one,
  // and no link whose target passes through another (a chain can lead out of the tree).
  const underLink = (p: string) => {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (links.has(prefix)) return prefix;
    }
    return null;
  };
  for (const n of names) {
    const via = underLink(n);
    if (via) throw new ArchiveError(`${n}: lies under the symbolic link ${via}; entries may not be reached through a link`);
  }
  // Followed step by step as the kernel would (not normalised first: "d/up/.." where
  // d/up is a link to ".." leaves the tree although it reads as "d").
  for (const [n, link] of links) {
    const at = path.posix.dirname(n) === "." ? [] : path.posix.dirname(n).split("/");
    for (const c of link.split("/")) {
      if (c === "" || c === ".") continue;
      if (c === "..") {
        if (at.length === 0) throw new ArchiveError(`${n}: a symbolic link that leads out of the archive (${link}) is not allowed`);
        at.pop();
        continue;
      }
      at.push(c);
      if (links.has(at.join("/"))) throw new ArchiveError(`${n}: a symbolic link that goes through another link (${at.join("/")}) is not allowed`);
    }
  }
  if (pack) {
    // Links last: by the time one exists, every file and directory is in place.
    for (const [name, link] of [...links].sort(([a], [b]) => a.localeCompare(b))) {
      pack.entry({ name, type: "symlink", linkname: link, mode: 0o777, mtime, uid: 0, gid: 0 });
    }
    pack.finalize();
    await packing;
  }
  return { entries: names.size, unpackedBytes: bytes, archive: pack ? Buffer.concat(packed) : null };
}

/** Checks the archive; throws ArchiveError on the first problem. */
export async function inspectArchive(gz: Buffer, limits: ArchiveLimits = ARCHIVE_LIMITS): Promise<ArchiveSummary> {
  const { entries, unpackedBytes } = await walk(gz, limits, false);
  return { entries, unpackedBytes };
}

/** Checks the archive and returns a new one holding exactly what was accepted (what Rampart keeps and deploys). */
export async function repackArchive(gz: Buffer, limits: ArchiveLimits = ARCHIVE_LIMITS): Promise<ArchiveSummary & { archive: Buffer; sha256: string }> {
  const r = await walk(gz, limits, true);
  const archive = r.archive!;
  return { entries: r.entries, unpackedBytes: r.unpackedBytes, archive, sha256: createHash("sha256").update(archive).digest("hex") };
}
