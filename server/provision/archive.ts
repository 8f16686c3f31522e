// Checking an uploaded app archive (.tar.gz) before it is kept: the worker unpacks
// it as root on every app server, so only plain files, directories, and symbolic
// links that stay inside the archive are allowed. Pure: bytes in, verdict out.
import path from "node:path";
import { gunzipSync } from "node:zlib";

/** Most an archive may unpack to. */
export const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;

export class ArchiveError extends Error {
  override name = "ArchiveError";
}

const text = (b: Buffer, start: number, len: number) => {
  const s = b.subarray(start, start + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? s.length : nul).toString("utf8");
};
const octal = (b: Buffer, start: number, len: number) => parseInt(text(b, start, len).trim() || "0", 8);

/** pax extended header records: "<len> key=value\n". */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.subarray(i, sp).toString());
    if (!Number.isInteger(len) || len <= 0) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

function checkName(name: string): string {
  if (name.startsWith("/")) throw new ArchiveError(`${name}: absolute paths are not allowed in the archive`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new ArchiveError(`${name}: ".." is not allowed in the archive's paths`);
  return parts.join("/");
}

/** Lists the archive's entries, or throws ArchiveError naming the first that is not allowed. */
export function inspectArchive(gz: Buffer): { entries: number; unpackedBytes: number } {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: MAX_UNPACKED_BYTES + 1024 * 1024 });
  } catch (err) {
    throw new ArchiveError(/maxOutputLength|larger than/i.test(String(err)) ? "the archive unpacks to more than 512 MB" : "the archive is not valid gzip data");
  }
  let off = 0;
  let entries = 0;
  let total = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> = {};
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break; // end of archive
    if (text(h, 257, 5) !== "ustar") throw new ArchiveError("this is not a tar archive (ustar)");
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156]!) || "0";
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = paxRecords(data);
      continue;
    }
    if (type === "g") continue;
    if (type === "L" || type === "K") {
      const v = data.toString("utf8").replace(/\0+$/, "");
      if (type === "L") longName = v;
      else longLink = v;
      continue;
    }
    const prefix = text(h, 345, 155);
    const raw = pax.path ?? longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const link = pax.linkpath ?? longLink ?? text(h, 157, 100);
    pax = {};
    longName = longLink = null;
    const name = checkName(raw);
    entries++;
    if (type === "0" || type === "\0" || type === "7") {
      total += size;
      if (total > MAX_UNPACKED_BYTES) throw new ArchiveError("the archive unpacks to more than 512 MB");
    } else if (type === "5") {
      // a directory
    } else if (type === "2") {
      if (link.startsWith("/")) throw new ArchiveError(`${raw}: a symbolic link to an absolute path (${link}) is not allowed`);
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(name), link));
      if (target === ".." || target.startsWith("../")) throw new ArchiveError(`${raw}: a symbolic link that leads out of the archive (${link}) is not allowed`);
    } else {
      const what = { "1": "a hard link", "3": "a character device", "4": "a block device", "6": "a FIFO" }[type] ?? `an entry of type "${type}"`;
      throw new ArchiveError(`${raw}: ${what} is not allowed; only files, directories and symbolic links inside the archive`);
    }
  }
  if (entries === 0) throw new ArchiveError("the archive is empty");
  return { entries, unpackedBytes: total };
}
