import type { RunKind } from "@/server/schemas/run";
import type { RunKindHandler } from "./types";
import { systemCheck } from "./system-check";
import { serverCheck } from "./server-check";
import { topologyApply, topologyPlan } from "./topology";

/** Every run kind the worker knows, by name. */
export const kinds: Record<RunKind, RunKindHandler> = {
  "system-check": systemCheck as unknown as RunKindHandler,
  "server-check": serverCheck as unknown as RunKindHandler,
  "topology-plan": topologyPlan as unknown as RunKindHandler,
  "topology-apply": topologyApply as unknown as RunKindHandler,
};
