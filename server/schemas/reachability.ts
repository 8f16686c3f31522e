// The reachability matrix: who can reach which port of which server, expected (from
// the firewall policy) against observed. Part of every plan and apply.
import { z } from "zod";

/** open: a TCP connection succeeds; refused: the host answers with a reset; filtered: no answer (dropped). */
export const Reach = z.enum(["open", "refused", "filtered"]);
export type Reach = z.infer<typeof Reach>;

export const ReachCellDto = z.object({
  /** "control-plane" or a server's id. */
  from: z.string(),
  fromName: z.string(),
  toServerId: z.string(),
  toName: z.string(),
  address: z.string(),
  port: z.number(),
  /** What the port is for ("SSH", "HTTPS for shop", "MySQL"…). */
  purpose: z.string(),
  expected: Reach,
  /** null: not probed (the source or the target could not be reached). */
  observed: Reach.nullable(),
  ok: z.boolean(),
});
export type ReachCellDto = z.infer<typeof ReachCellDto>;

export const ReachabilityDto = z.object({
  checkedAt: z.coerce.date(),
  cells: z.array(ReachCellDto),
  mismatches: z.number(),
});
export type ReachabilityDto = z.infer<typeof ReachabilityDto>;
