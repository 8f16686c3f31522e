import { Badge, type Tone } from "../ui/badge";

const TONES: Record<string, Tone> = {
  queued: "neutral",
  running: "info",
  "awaiting-confirmation": "info",
  succeeded: "success",
  failed: "danger",
  cancelled: "warning",
  partial: "warning",
};

/** How a status reads where the wire name would not ("partial" → "partially applied"). */
const TEXTS: Record<string, string> = { "awaiting-confirmation": "awaiting confirmation", partial: "partially applied" };

export function RunStatusBadge({ status }: { status: string }) {
  return (
    <Badge tone={TONES[status] ?? "neutral"}>
      {status === "running" ? <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" aria-hidden /> : null}
      <span data-testid="run-status" data-status={status}>
        {TEXTS[status] ?? status}
      </span>
    </Badge>
  );
}
