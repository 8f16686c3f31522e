import { Badge } from "../ui/badge";

export function HostKeyBadge({ status }: { status: "unknown" | "pending" | "pinned" | "mismatch" }) {
  if (status === "pinned") return <Badge tone="success">host key pinned</Badge>;
  if (status === "pending") return <Badge tone="warning">host key to accept</Badge>;
  if (status === "mismatch") return <Badge tone="danger">HOST KEY CHANGED</Badge>;
  return <Badge>not contacted yet</Badge>;
}
