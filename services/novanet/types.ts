/**
 * The shapes novanet's API exchanges, shared by the server (`api/`), the client (`client.ts`),
 * the host agent and the CLI. REST bodies and gRPC messages (proto/novanet/v1/novanet.proto)
 * have the same lowerCamelCase fields. Every resource carries the organisation and project it
 * is filed under (the scope iam returned when it was created).
 */

/** What every novanet resource has. */
export interface Owned {
  id: string;
  org: string;
  project: string;
  name: string;
  /** ISO 8601. */
  createdAt: string;
  /** Set while a delete checks that nothing depends on the resource any more (creates under it are refused meanwhile). */
  deleting?: boolean;
}

/** A VPC: one private L2/L3 network, one VXLAN VNI. */
export interface Vpc extends Owned {
  /** The VPC's address range (subnets lie inside it). */
  cidr: string;
  /** VXLAN network identifier, unique across the deployment. */
  vni: number;
}

/** An allocation pool: the inclusive range ports get addresses from. */
export interface AllocationPool {
  start: string;
  end: string;
}

/** A subnet of a VPC. */
export interface Subnet extends Owned {
  vpc: string;
  cidr: string;
  ipVersion: 4 | 6;
  /** The router's address in the subnet (the default route of its ports). */
  gatewayIp: string;
  /** DHCP on/off; with DHCP, `dhcpServerIp` is the server's own address. */
  dhcp: boolean;
  dhcpServerIp?: string;
  dnsServers: string[];
  allocationPools: AllocationPool[];
}

/** How a port is plugged in on its host. */
export interface PortBinding {
  /** The host (its novanet-agent's name) the port lives on; empty: not bound yet. */
  host?: string;
  /**
   * A network namespace on the host that receives a veth peer (containers, tests); absent: a
   * tap device for a hypervisor.
   */
  netns?: string;
}

/** A port: a VM's (or container's) interface on a subnet. */
export interface Port extends Owned, PortBinding {
  vpc: string;
  subnet: string;
  mac: string;
  fixedIps: string[];
  securityGroups: string[];
  /** Anti-spoofing (MAC/IP) on the host; default true. */
  portSecurity: boolean;
  /** Who uses it (`vm:<id>`, free text). */
  deviceOwner?: string;
}

/** One allow rule of a security group. */
export interface SecurityGroupRule {
  id: string;
  direction: "ingress" | "egress";
  ethertype: "ipv4" | "ipv6";
  /** `tcp`, `udp`, `icmp`, `icmpv6`, an IP protocol number as text, or absent for any. */
  protocol?: string;
  portMin?: number;
  portMax?: number;
  icmpType?: number;
  icmpCode?: number;
  /** The other end: a CIDR or a security group (its members' addresses); absent: anywhere. */
  remoteCidr?: string;
  remoteGroup?: string;
}

/** A security group: stateful, allow-only rules. */
export interface SecurityGroup extends Owned {
  description: string;
  rules: SecurityGroupRule[];
  /** True for the project's default group (ingress from members only, all egress). */
  isDefault: boolean;
}

/** A router's leg on the external network. */
export interface ExternalGateway {
  /** The router's external address. */
  ip: string;
  /** Prefix length of the external network. */
  prefix: number;
  gatewayIp: string;
  /** Source-NAT the attached subnets behind `ip`. */
  snat: boolean;
  /** The router's IPv6 address on the external network (its IPv6 subnets are routed through it). */
  ip6?: string;
  prefix6?: number;
  gatewayIp6?: string;
}

/** A VPC's router: the attached subnets' gateway, SNAT and floating IPs. */
export interface Router extends Owned {
  vpc: string;
  subnets: string[];
  externalGateway?: ExternalGateway;
}

/** A floating IP: an external address mapped 1:1 to a port's fixed address. */
export interface FloatingIp extends Owned {
  ip: string;
  port?: string;
  fixedIp?: string;
  /** The router (of the port's VPC) that carries the NAT. */
  router?: string;
}

/** The resource kinds that count against a project's quota. */
export const QUOTA_KINDS = ["vpcs", "subnets", "ports", "secgroups", "rules", "routers", "fips"] as const;
/** A quota kind. */
export type QuotaKind = (typeof QUOTA_KINDS)[number];

/** A project's limits and what it uses. */
export interface Quota {
  project: string;
  limits: Record<QuotaKind, number>;
  usage: Record<QuotaKind, number>;
}

/** A host running novanet-agent, as it registers itself. */
export interface AgentHost {
  name: string;
  underlayIp: string;
  /** ISO 8601 of the agent's last start. */
  startedAt: string;
}

/** A list answer. */
export interface ItemList<T> {
  items: T[];
}
