/**
 * novanet's Linux data plane: VPCs as bridges + VXLAN devices with pushed forwarding entries,
 * ports as veth pairs or taps, stateful security groups in one nft table with a conntrack zone
 * per VPC, DHCP (dnsmasq) and routers (SNAT, floating IPs) in network namespaces of their own.
 * Driven by desired state through {@link LinuxVpcDataplane.apply}; see
 * docs/adr/0006-linux-dataplane.md.
 */
export { LinuxVpcDataplane, type LinuxVpcDataplaneOptions } from "./linux-dataplane.ts";
export type * from "../vpc-dataplane.ts";
export { cpuListToMask } from "./packet-steering.ts";
