import type { RunKind } from "@/server/schemas/run";
import type { RunKindHandler } from "./types";
import { systemCheck } from "./system-check";
import { serverCheck } from "./server-check";
import { topologyApply, topologyPlan } from "./topology";
import { sampleOperation } from "./sample-operation";
import { certificateOrder } from "./certificate-order";
import { dbPromote } from "./db-promote";

/** Every run kind the worker knows, by name (their policy is in server/schemas/run-kinds.ts). */
export const kinds: Record<RunKind, RunKindHandler> = {
  "system-check": systemCheck as unknown as RunKindHandler,
  "server-check": serverCheck as unknown as RunKindHandler,
  "topology-plan": topologyPlan as unknown as RunKindHandler,
  "topology-apply": topologyApply as unknown as RunKindHandler,
  "certificate-order": certificateOrder as unknown as RunKindHandler,
  "db-promote": dbPromote as unknown as RunKindHandler,
  // One definition, two policies: the registry says which resumes.
  "sample-operation": sampleOperation as unknown as RunKindHandler,
  "sample-operation-strict": sampleOperation as unknown as RunKindHandler,
};
