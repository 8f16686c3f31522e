// Topology templates: a layout filled in from a few choices, then created and planned like
// any topology (nothing about a template is stored). No server-only imports: the console
// bundles this file.
import { z } from "zod";
import { SiteName, type TopologyInput } from "./topology";

/**
 * The seed's three-server site, with its fixes: server 1 balances (HAProxy, TLS passed through);
 * servers 2 and 3 each run a web server (TLS end to end) and the app, and the database
 * as primary on server 2 and replica on server 3 (so no single server accepts every write and
 * nothing else has the data); a firewall and the monitoring client on all three; the site's
 * certificate from Rampart's internal CA until one is uploaded or ordered with ACME.
 */
export const SeedSiteInput = z
  .object({
    name: SiteName,
    loadBalancer: z.string().min(1, "choose the server that balances"),
    primary: z.string().min(1, "choose the server for web, app and the database primary"),
    replica: z.string().min(1, "choose the server for web, app and the database replica"),
  })
  .superRefine((v, ctx) => {
    const picks = [
      ["loadBalancer", v.loadBalancer],
      ["primary", v.primary],
      ["replica", v.replica],
    ] as const;
    for (const [i, [field, id]] of picks.entries())
      if (id && picks.slice(0, i).some(([, other]) => other === id)) ctx.addIssue({ code: "custom", path: [field], message: "choose three different servers: each has its own part" });
  });
export type SeedSiteInput = z.infer<typeof SeedSiteInput>;

export const SEED_LAYOUT = [
  { pick: "loadBalancer", label: "Server 1", roles: ["load-balancer"] },
  { pick: "primary", label: "Server 2", roles: ["web", "app", "db-primary"] },
  { pick: "replica", label: "Server 3", roles: ["web", "app", "db-replica"] },
] as const;

/** The topology the seed template makes from the three servers picked. */
export function seedTopology(v: SeedSiteInput): TopologyInput {
  return {
    name: v.name,
    balance: "roundrobin",
    members: SEED_LAYOUT.map((l) => ({ serverId: v[l.pick], roles: [...l.roles], monitoring: true })),
  };
}
