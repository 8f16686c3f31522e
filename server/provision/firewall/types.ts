// What the firewall policy is computed from (loaded by the worker, see workers/kinds/topology.ts).

/** An operator's rule, as stored (see FirewallRuleInput). */
export interface FirewallRuleSpec {
  id: string;
  name: string;
  comment: string;
  enabled: boolean;
  direction: "in" | "out";
  action: "accept" | "drop";
  protocol: "tcp" | "udp";
  portFrom: number;
  portTo: number | null;
  scope: "topology" | "role" | "server";
  scopeValue: string | null;
  peer: "anywhere" | "cidr" | "server" | "role" | "control-plane";
  peerValue: string | null;
}

export interface FirewallSpec {
  enabled: boolean;
  /** Networks SSH is allowed from besides the control plane. */
  adminNetworks: string[];
  rules: FirewallRuleSpec[];
  /** The addresses Rampart's workers connect from, as the servers saw them. */
  controlPlane: string[];
  /** The IP addresses of servers the rules name that are not in the topology (members' are on their HostSpec). */
  serverIps: Record<string, string[]>;
  /** An admin asked to apply a rule set a host rolled back before. */
  force?: boolean;
  /** How long a host waits for Rampart to get in over a new connection before it restores its previous rules. */
  confirmWindowS: number;
}

/** One rule of a server's rule set. peers: "any", or IP literals and networks. */
export interface EffectiveRule {
  direction: "in" | "out";
  action: "accept" | "drop";
  protocol: "tcp" | "udp";
  ports: [number, number];
  peers: "any" | string[];
  /** "role default: web", "SSH", "rule: office VPN". */
  origin: string;
  comment: string;
}
