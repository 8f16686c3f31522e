import { Badge, type Tone } from "../ui/badge";

const TONES: Record<string, Tone> = { queued: "neutral", running: "info", succeeded: "success", failed: "danger", cancelled: "warning" };

export function RunStatusBadge({ status }: { status: string }) {
  return (
    <Badge tone={TONES[status] ?? "neutral"}>
      {status === "running" ? <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" aria-hidden /> : null}
      <span data-testid="run-status">{status}</span>
    </Badge>
  );
}
