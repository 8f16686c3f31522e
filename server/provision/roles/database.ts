// Database roles: declared so that plans, the diagram and (next) the firewall know
// them; MariaDB itself is installed with the database issue.
import type { RoleModule } from "./types";

const later = (role: "db-primary" | "db-replica", label: string): RoleModule => ({
  role,
  label,
  tier: "database",
  resources: () => [],
  ports: () => [],
  checks: () => [],
  certificates: () => [],
  inbound: () => [
    {
      port: 3306,
      from: { kind: "role", role: "app" },
      protection: "plain",
      label: "plain (not yet encrypted)",
      detail: "Not encrypted yet: MariaDB is not installed yet, and this hop gets TLS when it is.",
      purpose: "queries",
    },
    // Replicas read the primary's binary log.
    ...(role === "db-primary"
      ? [
          {
            port: 3306,
            from: { kind: "role" as const, role: "db-replica" as const },
            protection: "plain" as const,
            label: "plain (not yet encrypted)",
            detail: "Replication: each replica reads the primary's binary log (TLS comes with the database issue).",
            purpose: "replication",
          },
        ]
      : []),
  ],
  // A replica is set up from its primary: it cannot be converged while the primary is out of reach.
  dependsOn: role === "db-replica" ? (t) => t.hosts.filter((x) => x.roles.includes("db-primary")).map((x) => x.serverId) : undefined,
  note: `${label.toLowerCase()}: MariaDB is not installed yet (replication comes with the database issue)`,
});

export const dbPrimary = later("db-primary", "Database primary");
export const dbReplica = later("db-replica", "Database replica");
