/**
 * The contract between novanet (and its host agent) and a VPC data plane driver.
 *
 * A driver is driven by DESIRED STATE: the caller hands it everything that must exist on one host
 * ({@link HostNetworkState}) and `apply` converges the host to exactly that — creating what is
 * missing, repairing what drifted, removing what PhotonCloud created that is no longer wanted. It
 * never touches objects it did not create. `apply` is idempotent (applying the same state twice
 * changes nothing the second time) and restartable (it converges from any partial state, e.g.
 * after a crash half-way through a previous apply).
 *
 * Two drivers implement it: `linux/` (bridge + VXLAN + nftables + network namespaces, the default)
 * and, later, an OVN driver writing the same model into OVN's northbound database.
 */

/** Everything that must exist on one host. */
export interface HostNetworkState {
  /** This host's underlay (tunnel endpoint) IPv4 address; VXLAN packets leave from it. */
  underlayIp: string;
  /** VPCs with at least one thing (port, DHCP, router) on this host. */
  vpcs: VpcState[];
  /** Security groups referenced by the ports of this host. */
  securityGroups: SecurityGroupState[];
}

/** One VPC as seen by one host. A VPC is one L2 segment (one VNI) holding one or more subnets. */
export interface VpcState {
  /** novanet's id of the VPC (for logs and inspect; device names derive from `vni`). */
  id: string;
  /** VXLAN network identifier, 1..16777215, unique per VPC. */
  vni: number;
  /**
   * Conntrack zone of the VPC on this host, 1..65535, unique per host. Defaults to `vni & 0xffff`
   * (an error if that is 0 or collides); the caller must keep it stable for the life of the VPC.
   */
  ctZone?: number;
  /** MTU inside the overlay; defaults to 1450 (1500 underlay minus the VXLAN headers). */
  mtu?: number;
  subnets: SubnetState[];
  /** The VPC's ports bound to this host. */
  ports: PortState[];
  /** Where the VPC's other addresses live: pushed as static VXLAN fdb + neighbour entries. */
  remoteEndpoints: RemoteEndpoint[];
  /** The VPC's router on this host (distributed: every host runs its own copy). */
  router?: RouterState;
}

/** A subnet of a VPC. */
export interface SubnetState {
  id: string;
  /** IPv4 CIDR (`10.0.0.0/24`). */
  cidr: string;
  /** The router's address in the subnet (handed out by DHCP and used as the default route). */
  gatewayIp?: string;
  /** DHCP for the subnet; absent means no DHCP server. */
  dhcp?: DhcpState;
}

/** DHCP service of a subnet: each local port gets its fixed address (no dynamic pool). */
export interface DhcpState {
  /** The DHCP server's own address in the subnet (novanet allocates it like a port's). */
  serverIp: string;
  /** DNS servers handed to clients (option 6); the DHCP server itself resolves nothing. */
  dnsServers: string[];
  /** Lease time in seconds; defaults to 86400. */
  leaseSeconds?: number;
}

/** A port: a VM's (or container's) interface on the VPC. */
export interface PortState {
  /** novanet's port id; device names derive from it. */
  id: string;
  /** The port's MAC (unicast). */
  mac: string;
  /** Fixed IPv4 addresses, each inside one of the VPC's subnets. */
  ips: string[];
  /** Security group ids. Empty = no filtering; otherwise default deny plus the groups' rules. */
  securityGroups: string[];
  /**
   * Anti-spoofing (defaults to true): frames from the port must carry its MAC and one of its IPs
   * (or be a DHCP request / ARP probe / IPv6 link-local neighbour discovery).
   */
  portSecurity?: boolean;
  device: PortDevice;
}

/** How a port is plugged in. */
export type PortDevice =
  | {
      /** A veth pair: host end on the bridge, peer moved into `netns` and configured there. */
      kind: "veth";
      /** Name of an existing network namespace (/run/netns/NAME) that receives the peer. */
      netns: string;
      /** Name of the peer inside `netns`; defaults to `eth0`. */
      ifname?: string;
      /**
       * Set the port's addresses and the default route (via the subnet gateway) inside `netns`;
       * defaults to true. False leaves the addresses to DHCP (the link is still brought up).
       */
      configure?: boolean;
    }
  | {
      /** A persistent tap device on the bridge for a hypervisor (QEMU) to open. */
      kind: "tap";
    };

/** A remote address of the VPC: its MAC and IPs live behind `hostIp` (another host's underlay IP). */
export interface RemoteEndpoint {
  mac: string;
  ips: string[];
  hostIp: string;
}

/** A VPC router on this host: a network namespace holding the subnets' gateways. */
export interface RouterState {
  /** Gateway MAC (the same on every host of the VPC); defaults to one derived from the VNI. */
  gatewayMac?: string;
  /** The external network; absent means an internal-only router. */
  external?: RouterExternal;
  /** Floating IPs whose fixed address is a port on this host: 1:1 DNAT/SNAT. */
  floatingIps: FloatingIp[];
}

/** A router's leg on an external (provider) network. */
export interface RouterExternal {
  /** An existing bridge on the host that carries the external network (not created or changed here). */
  bridge: string;
  /** The router's address on the external network, as CIDR (`203.0.113.10/24`). */
  ip: string;
  /** The external network's gateway; becomes the router's default route. */
  gatewayIp: string;
  /** Source-NAT the subnets behind `ip` (defaults to true). */
  snat?: boolean;
  /**
   * The router's IPv6 address on the external network, as CIDR (`2001:db8::10/64`): the VPC's
   * IPv6 subnets are routed through it, never NATed (the upstream routes them to this address).
   */
  ip6?: string;
  /** The external network's IPv6 gateway; becomes the router's IPv6 default route. */
  gatewayIp6?: string;
}

/** A floating IP: `ip` on the external network maps 1:1 to the fixed `fixedIp`. */
export interface FloatingIp {
  ip: string;
  fixedIp: string;
}

/** A security group: allow-only rules; everything not allowed is dropped. Stateful. */
export interface SecurityGroupState {
  id: string;
  rules: SecurityGroupRule[];
}

/** One allow rule. */
export interface SecurityGroupRule {
  direction: "ingress" | "egress";
  /** Address family; defaults to ipv4. */
  ethertype?: "ipv4" | "ipv6";
  /** `tcp`, `udp`, `icmp`, `icmpv6`, an IP protocol number, or absent for any. */
  protocol?: "tcp" | "udp" | "icmp" | "icmpv6" | number;
  /** Port range for tcp/udp (inclusive); absent = every port. */
  portMin?: number;
  portMax?: number;
  /** ICMP type and code for icmp/icmpv6; absent = any. */
  icmpType?: number;
  icmpCode?: number;
  /** The other end: a CIDR, or a group already resolved by the caller to its members' IPs. */
  remote?: { cidr: string } | { groupId: string; memberIps: string[] };
}

/** What `apply` did. */
export interface ApplyResult {
  /** Number of changes made (0 when the host already matched). */
  changes: number;
  /** The changes, as the commands run (ip/bridge batch lines, nft table replacements, processes). */
  actions: string[];
}

/** A snapshot of what PhotonCloud's objects look like on the host. */
export interface HostNetworkInspection {
  vpcs: VpcInspection[];
  /** The security-group tables (`inet photon_novanet`, `bridge photon_novanet`), if present. */
  nftables: { tables: string[]; chains: number; rules: number; stateHash?: string };
  /** OVN driver only: how many northbound rows of each table carry novanet's tag. */
  ovn?: { rows: Record<string, number> };
}

/** What exists of one VPC on the host. */
export interface VpcInspection {
  vni: number;
  bridge?: string;
  vxlan?: { name: string; vni: number; local?: string; learning: boolean };
  ports: { device: string; kind: string; up: boolean; complete: boolean }[];
  /** Static VXLAN forwarding entries: MAC → underlay IP. */
  fdb: { mac: string; dst: string }[];
  /** Static neighbour entries on the VXLAN device (proxy ARP). */
  neighbours: { ip: string; mac: string }[];
  routerNetns?: string;
  dhcp?: { netns: string; pid?: number };
}

/** How to apply. */
export interface ApplyOptions {
  /**
   * Observe the whole host and repair any drift, even if the driver could apply the change
   * incrementally (periodic resyncs). Drivers without an incremental path ignore it.
   */
  full?: boolean;
}

/** A VPC data plane driver. */
export interface VpcDataplane {
  /**
   * Converges the host to exactly `desired`.
   * @throws PhotonError `DATAPLANE:InvalidState` when `desired` is malformed (nothing is changed),
   *   `DATAPLANE:CommandFailed` when the system refused a change (what ran before stays; a later
   *   apply resumes from there).
   */
  apply(desired: HostNetworkState, options?: ApplyOptions): Promise<ApplyResult>;
  /** Reports what PhotonCloud's objects on the host currently are. */
  inspect(): Promise<HostNetworkInspection>;
}
