import { Badge } from "../ui/badge";
import type { TopologyDto } from "@/server/schemas/topology";

type Drift = Pick<TopologyDto, "driftStatus" | "driftChanges">;

/** Whether the servers match the topology, as the last plan (or drift check) found them. */
export function DriftBadge({ topology }: { topology: Drift }) {
  const { driftStatus, driftChanges } = topology;
  let badge;
  if (driftStatus === "in-sync") badge = <Badge tone="success">in sync</Badge>;
  else if (driftStatus === "drifted")
    badge = (
      <Badge tone="warning">
        drifted · {driftChanges ?? "?"} change{driftChanges === 1 ? "" : "s"}
      </Badge>
    );
  else if (driftStatus === "failing") badge = <Badge tone="danger">not serving · checks fail</Badge>;
  else if (driftStatus === "error") badge = <Badge tone="danger">check failed</Badge>;
  else badge = <Badge>not checked</Badge>;
  return (
    <span data-testid="drift-status" data-drift={driftStatus}>
      {badge}
    </span>
  );
}
