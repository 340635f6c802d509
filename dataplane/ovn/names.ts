/**
 * Names and tags of the rows novanet's OVN driver writes into the northbound database.
 *
 * Identity is the tag, not the name: every row the driver owns carries
 * `external_ids:"novanet:kind"` and `external_ids:"novanet:id"` (the novanet id it stands for), and
 * only rows so tagged are ever updated or deleted. Names are deterministic and readable for
 * operators (`ovn-nbctl show`) and, for logical switch ports, are what a chassis binds: a VM's
 * OVS interface gets `external_ids:iface-id=<lspName(portId)>`.
 */
import { createHash } from "node:crypto";

/** external_ids key of the row kind. */
export const KIND_KEY = "novanet:kind";
/** external_ids key of the novanet id. */
export const ID_KEY = "novanet:id";

/** The kinds of rows the driver owns (value of `novanet:kind`). */
export type RowKind =
  | "vpc" // Logical_Switch of a VPC
  | "port" // Logical_Switch_Port of a novanet port
  | "router-port" // LSP (type router) on the VPC switch + the LRP it peers with
  | "dhcp" // DHCP_Options of a subnet
  | "router" // Logical_Router of a VPC
  | "router-gateway" // LRP on the external network + its LSP on the external switch
  | "gateway-chassis" // Gateway_Chassis of a router-gateway LRP
  | "default-route" // Logical_Router_Static_Route 0.0.0.0/0 via the external gateway
  | "default-route6" // Logical_Router_Static_Route ::/0 via the external IPv6 gateway
  | "snat" // NAT snat of a subnet
  | "fip" // NAT dnat_and_snat of a floating IP
  | "external-net" // Logical_Switch of an external (provider) network
  | "localnet" // LSP (type localnet) of an external network
  | "secgroup" // Port_Group of a security group
  | "secgroup-drop" // Port_Group holding every filtered port, with the default-drop ACLs
  | "rule" // ACL of a security-group rule
  | "default-acl"; // ACLs of the drop group (drop, DHCP allow)

const hex = (s: string, n = 16) => createHash("sha256").update(s).digest("hex").slice(0, n);

/** Logical_Switch of a VPC. */
export const lsName = (vpcId: string): string => `novanet-vpc-${vpcId}`;
/** Logical_Switch_Port of a port; a chassis binds it with `iface-id` = this name. */
export const lspName = (portId: string): string => `novanet-port-${portId}`;
/** Logical_Router of a VPC. */
export const lrName = (vpcId: string): string => `novanet-router-${vpcId}`;
/** The router's port on the VPC switch (LRP; its LSP peer has the same name with `-ls`). */
export const lrpName = (vpcId: string): string => `novanet-rtr-${vpcId}`;
/** The router's port on the external network (LRP; its LSP peer has `-ls`). */
export const lrpGwName = (vpcId: string): string => `novanet-rgw-${vpcId}`;
/** Logical_Switch of an external network (one per provider bridge / network name). */
export const extLsName = (network: string): string => `novanet-ext-${network}`;
/** The localnet port of an external network. */
export const localnetName = (network: string): string => `novanet-localnet-${network}`;
/**
 * Port_Group of a security group. Port group names must be identifiers (ACL matches refer to
 * `@name`), so the id is hashed.
 */
export const pgName = (groupId: string): string => `novanet_sg_${hex(groupId)}`;
/** Port_Group of every port that has security groups (default drop). */
export const DROP_PG = "novanet_sg_drop";
/** Stable short hash of a value (ACL identities). */
export const shortHash = (value: unknown): string => hex(JSON.stringify(value));
