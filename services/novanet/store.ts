/**
 * novanet's state: JSON documents under `/photon/novanet/` in a lib/docstore `DocStore`
 * (optimistic transactions; claims for everything unique).
 *
 * Key layout (docs/adr/0011-novanet-control-plane.md):
 * - `/photon/novanet/<kind>/<id>`: vpcs, subnets, ports, secgroups, routers, fips;
 * - `/photon/novanet/quotas/<project>`: a project's limits when not the defaults;
 * - claims (created compared-absent, so two writers never both get one):
 *   `ipam/<subnet>/<ip>`, `extip/<ip>`, `vni/<vni>`, `slots/<project>/<kind>/<n>`;
 * - `/photon/novanet/hosts/<name>`: agents' underlay addresses.
 */
import type { DocChange, DocStore, DocTx } from "../../lib/docstore/index.ts";

/** The common prefix of every key. */
export const NOVANET_PREFIX = "/photon/novanet/";

/** Key builders. */
export const keys = {
  doc: (kind: string, id: string) => `${NOVANET_PREFIX}${kind}/${id}`,
  kind: (kind: string) => `${NOVANET_PREFIX}${kind}/`,
  quota: (project: string) => `${NOVANET_PREFIX}quotas/${project}`,
  ip: (subnet: string, ip: string) => `${NOVANET_PREFIX}ipam/${subnet}/${ip}`,
  ips: (subnet: string) => `${NOVANET_PREFIX}ipam/${subnet}/`,
  extIp: (ip: string) => `${NOVANET_PREFIX}extip/${ip}`,
  extIps: () => `${NOVANET_PREFIX}extip/`,
  vni: (vni: number) => `${NOVANET_PREFIX}vni/${vni}`,
  vnis: () => `${NOVANET_PREFIX}vni/`,
  slot: (project: string, kind: string, n: number) => `${NOVANET_PREFIX}slots/${project}/${kind}/${n}`,
  slots: (project: string, kind: string) => `${NOVANET_PREFIX}slots/${project}/${kind}/`,
  host: (name: string) => `${NOVANET_PREFIX}hosts/${name}`,
};

/** One optimistic transaction (lib/docstore). */
export type StoreTx = DocTx;
/** A change seen by a watch: the store's revision after it. */
export type StoreChange = DocChange;
/** novanet's state: a lib/docstore document store under `NOVANET_PREFIX`. */
export type NovanetStore = DocStore;
