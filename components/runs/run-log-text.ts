// A run's log as plain text, for "Download": one line per event, read from the API
// in large pages (never the live stream) up to the seq the log had when asked.
import type { RunEventDto } from "@/server/schemas/run";

/** "2026-12-04T10:00:00.000Z info     [web-1] text": time, level, host, text. */
export function formatLogLine(e: Pick<RunEventDto, "time" | "level" | "host" | "text">): string {
  return `${new Date(e.time).toISOString()} ${e.level.padEnd(8)} ${e.host ? `[${e.host}] ` : ""}${e.text}`;
}

/** Reads events after a seq, in seq order (the REST API's GET /runs/{id}/events). */
export type ReadEventsAfter = (afterSeq: number) => Promise<RunEventDto[]>;

export async function logAsText(read: ReadEventsAfter, uptoSeq: number, onProgress?: (fraction: number) => void): Promise<string> {
  const lines: string[] = [];
  for (let after = 0; after < uptoSeq;) {
    const page = await read(after);
    if (page.length === 0) break;
    for (const e of page) if (e.seq <= uptoSeq) lines.push(formatLogLine(e));
    after = page[page.length - 1]!.seq;
    onProgress?.(Math.min(1, after / uptoSeq));
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** Hands a text to the browser as a file download. */
export function saveText(text: string, filename: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
