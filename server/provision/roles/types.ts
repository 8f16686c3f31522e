// What a role is, declared in one place: the resources it puts on a host, the
// ports it must own, the checks that prove it works, the certificates it needs,
// the traffic it receives and where it sits in the rollout. The planner, the
// verify phase, the drift check and the diagram read these declarations.
import type { AppSpec, ModuleName, Role, Tier } from "../../schemas/topology";
import type { Resource } from "../resources";
import type { FirewallSpec } from "../firewall/types";

export interface TlsMaterial {
  /** The internal CA's certificate (public). */
  caPem: string;
  /** The site's certificate bundle for HAProxy: certificate, chain, then key. */
  siteBundle: string | null;
  /** Where the site's certificate comes from (an uploaded one may be from a CA Rampart does not know). */
  siteSource?: string;
  /** What is wrong with the site's certificate that Rampart cannot fix itself (expired upload…): the load balancers' plans show it. */
  siteWarnings?: string[];
  /** The thumbprint of the site's ACME account (the load balancers answer HTTP-01 challenges with it), or null. */
  acmeThumbprint?: string | null;
  /** Each web or app server's certificate and key, from the internal CA. */
  backends: Map<string, { certPem: string; keyPem: string }>;
  /** Rampart's collector certificate (the exporters require it), when a host is monitored. */
  collector?: { certPem: string; keyPem: string } | null;
}

export interface HostSpec {
  serverId: string;
  name: string;
  address: string;
  roles: Role[];
  monitoring: boolean;
  drained: boolean;
  /** The SSH port (22 when not given). */
  sshPort?: number;
  /** The server's IP addresses: its address, or what its host name resolved to when the plan was made. */
  ips?: string[];
}

export interface TopologySpec {
  id: string;
  name: string;
  balance: "roundrobin" | "leastconn";
  hosts: HostSpec[];
  app: AppSpec;
  /** The app's environment with secret values decrypted: only ever written to a secret file. */
  appEnv: Array<[string, string]>;
  /** The uploaded archive's bytes, when the app's source is "tarball". */
  appArchive?: Buffer | null;
  tls: TlsMaterial;
  /** The firewall of every server (absent: Rampart manages none). */
  firewall?: FirewallSpec;
}

/** A TCP port a role's daemon must listen on. */
export interface PortClaim {
  port: number;
  /** The systemd unit whose processes must hold it. */
  unit: string;
  /** Loopback only (the app behind nginx) or every address. */
  scope: "loopback" | "any";
  /** Why, for messages: "HTTPS for www.example.com". */
  purpose: string;
  /** Only this address (the server's own), not every address (the claim's scope says "any" then). */
  address?: string;
  /** The tier of the role that claims it (set by desiredState). */
  tier?: Tier;
}

/** Where traffic to a role comes from (the diagram now, firewall rules next). */
export type TrafficSource = { kind: "internet" } | { kind: "role"; role: Role } | { kind: "control-plane" } | { kind: "same-host" };

export interface InboundTraffic {
  port: number;
  from: TrafficSource;
  /** How the hop is protected: the diagram's badge ("HTTPS", "TLS (internal CA)", "loopback", "plain"). */
  protection: "https" | "tls" | "loopback" | "plain";
  /** Short label and the full story of the hop, as the diagram shows them. */
  label: string;
  detail: string;
  purpose: string;
}

/** The certificates a role needs from Rampart. */
export interface CertificateNeed {
  kind: "backend" | "site";
  /** For "backend": the names it is issued for. */
  names?: string[];
}

/**
 * A check that proves a role works, run after the host's steps and by every
 * drift check. "host" checks are judged from the host's observation (listening
 * sockets, the running configuration); the others are carried out by the worker.
 */
export type CheckSpec =
  | { kind: "listening"; claim: PortClaim }
  /** logs: files where the daemon writes why a reload failed (besides its journal). */
  | { kind: "running-config"; unit: string; logs?: string[] }
  | { kind: "https-site"; port: number }
  | { kind: "backends-up" }
  | { kind: "served-certificate"; port: number; serverName: string }
  /** A Prometheus exporter on the host's address answers Rampart's collector certificate (and refuses a client without one). */
  | { kind: "exporter"; port: number; name: string; metric: string };

/** A module is a role, or the monitoring client every server gets unless it is turned off. */
export type { ModuleName };

export interface RoleModule {
  role: ModuleName;
  label: string;
  tier: Tier;
  /** The resources this role wants on the host, in the order they apply. */
  resources(t: TopologySpec, h: HostSpec): Resource[];
  ports(t: TopologySpec, h: HostSpec): PortClaim[];
  checks(t: TopologySpec, h: HostSpec): CheckSpec[];
  certificates(t: TopologySpec, h: HostSpec): CertificateNeed[];
  inbound(t: TopologySpec, h: HostSpec): InboundTraffic[];
  /** Other hosts this host cannot be converged without (an unreachable one skips this one too). */
  dependsOn?(t: TopologySpec, h: HostSpec): string[];
  /** Shown in the plan while the role installs nothing yet. */
  note?: string;
}
