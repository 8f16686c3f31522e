import type { RunKind } from "@/server/schemas/run";
import type { RunKindHandler } from "./types";
import { systemCheck } from "./system-check";
import { serverCheck } from "./server-check";

/** Every run kind the worker knows, by name. */
export const kinds: Record<RunKind, RunKindHandler> = {
  "system-check": systemCheck as unknown as RunKindHandler,
  "server-check": serverCheck as unknown as RunKindHandler,
};
