/**
 * novanet's OVN data plane: the VPC model (dataplane/vpc-dataplane.ts) written into OVN's
 * northbound database over one persistent OVSDB connection with a monitor
 * ({@link OvnVpcDataplane}, run once per deployment), and the host half that plugs a host's ports
 * into the integration bridge of its chassis ({@link OvnChassisDataplane}, run by each host's
 * agent). See docs/adr/0009-ovn-driver.md.
 */
export { OvnVpcDataplane, NB_DB, type OvnVpcDataplaneOptions } from "./ovn-dataplane.ts";
export { OvnChassisDataplane, OVS_DB, PORT_KEY, type OvnChassisDataplaneOptions } from "./ovn-chassis.ts";
export { lspName, lsName, lrName, pgName, DROP_PG, KIND_KEY, ID_KEY } from "./names.ts";
export type * from "../vpc-dataplane.ts";
