// The role modules by name, and a host's modules in rollout order.
import type { Role } from "../../schemas/topology";
import { TIERS } from "../../schemas/topology";
import { app } from "./app";
import { dbPrimary, dbReplica } from "./database";
import { loadBalancer } from "./load-balancer";
import { monitoring } from "./monitoring";
import type { HostSpec, RoleModule } from "./types";
import { web } from "./web";

/** Every role, by name. Adding a role means adding a module here (and its tests). */
export const ROLE_MODULES: Record<Role, RoleModule> = {
  "load-balancer": loadBalancer,
  web,
  app,
  "db-primary": dbPrimary,
  "db-replica": dbReplica,
};

/** A host's modules in rollout order (monitoring client → database → app → web → load balancer). */
export function modulesOf(h: Pick<HostSpec, "roles"> & { monitoring?: boolean }): RoleModule[] {
  return [...(h.monitoring ? [monitoring] : []), ...h.roles.map((r) => ROLE_MODULES[r])].sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
}
