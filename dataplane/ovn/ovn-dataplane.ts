/**
 * novanet's OVN data plane: the desired state written into OVN's northbound database over one
 * persistent OVSDB connection with a monitor (never `ovn-nbctl`). `apply` diffs the desired rows
 * against the monitored replica and commits the difference as ONE transaction, so the database
 * goes from one consistent state to the next or not at all. See docs/adr/0009-ovn-driver.md.
 *
 * Scope: unlike the Linux driver (one host), the northbound database is the whole deployment's,
 * so `desired` here is everything novanet wants in OVN (every VPC, every port on every host);
 * `remoteEndpoints` and port devices are ignored (OVN knows where ports are from the chassis
 * bindings), and binding a VM's interface to its port (`iface-id` = {@link lspName}) is the
 * chassis' business.
 */
import { createLogger, type Logger } from "../../lib/log.ts";
import { PhotonError } from "../../lib/errors.ts";
import { OvsdbClient, type Condition, type Mutation, type Replica, type Transaction } from "../../lib/ovsdb/index.ts";
import { DataplaneErrors } from "../errors.ts";
import { validateState } from "../linux/validate.ts";
import type { ApplyResult, HostNetworkInspection, HostNetworkState, VpcDataplane, VpcInspection } from "../vpc-dataplane.ts";
import { OWNED_TABLES, ownedTag, planConverge, type PlannedOp } from "./converge.ts";
import { buildNbRows, type DesiredRow } from "./nb-model.ts";

/** The northbound database name. */
export const NB_DB = "OVN_Northbound";

/** Options of {@link OvnVpcDataplane}. */
export interface OvnVpcDataplaneOptions {
  /** The northbound database remote: `unix:/run/ovn/ovnnb_db.sock` or `tcp:host:6641`. */
  nbRemote: string;
  /** Chassis that may host routers' gateway ports, highest priority first (needed for external networks). */
  gatewayChassis?: string[];
  /** How long an apply waits for a (re)connection (default 10 000 ms). */
  connectTimeoutMs?: number;
  logger?: Logger;
}

/**
 * The OVN driver. Connects lazily on first use and keeps the connection (reconnecting and
 * re-monitoring after a drop); `close()` ends it.
 * @example
 * const dp = new OvnVpcDataplane({ nbRemote: "unix:/run/ovn/ovnnb_db.sock", gatewayChassis: ["gw1"] });
 * await dp.apply({ underlayIp: "192.0.2.1", vpcs: [...], securityGroups: [...] });
 */
export class OvnVpcDataplane implements VpcDataplane {
  private conn: Promise<{ client: OvsdbClient; replica: Replica }> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly log: Logger;
  /** The last state converged to and the replica generation right after. */
  private last: { text: string; rows: DesiredRow[]; generation: number } | undefined;

  constructor(private readonly opts: OvnVpcDataplaneOptions) {
    this.log = opts.logger ?? createLogger("novanet-ovn");
  }

  private connect(): Promise<{ client: OvsdbClient; replica: Replica }> {
    if (this.closed) return Promise.reject(DataplaneErrors.CommandFailed("the OVN driver is closed"));
    this.conn ??= (async () => {
      const client = await OvsdbClient.connect({
        remote: this.opts.nbRemote,
        onStateChange: (s) => this.log.info("northbound connection", { state: s, remote: this.opts.nbRemote }),
      });
      try {
        const replica = await client.monitor(NB_DB, [...OWNED_TABLES]);
        return { client, replica };
      } catch (e) {
        client.close();
        throw e;
      }
    })().catch((e) => {
      this.conn = undefined;
      throw e;
    });
    return this.conn;
  }

  /**
   * Converges the northbound database to exactly `desired` in one transaction.
   * @throws PhotonError `DATAPLANE:InvalidState` (nothing sent), `DATAPLANE:CommandFailed` when the
   *   database refused the transaction (nothing of it committed; details.ovsdb says why),
   *   `OVSDB:ConnectionFailed` / `OVSDB:Disconnected` / `OVSDB:Timeout` when it is unreachable.
   */
  apply(desired: HostNetworkState): Promise<ApplyResult> {
    const run = this.queue.then(() => this.applyNow(desired));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(desired: HostNetworkState): Promise<ApplyResult> {
    // Validation first: bad input fails before any I/O. The state of the last converge is known
    // good, so it is not validated again.
    const text = JSON.stringify(desired);
    const known = text === this.last?.text ? this.last : undefined;
    const rows = known?.rows ?? buildNbRows(validateState(desired), { gatewayChassis: this.opts.gatewayChassis ?? [] });
    const { client, replica } = await this.connect();
    // Fast path: not one row changed since that converge (the replica's generation moves with
    // every update, ours or anyone's, and on every reconnect).
    if (known && replica.generation === known.generation && client.connected) return { changes: 0, actions: [] };
    const actions: string[] = [];
    let converged = false;
    // A row deleted by someone else between diff and commit makes its update match nothing;
    // the replica then shows it gone and one more round converges.
    for (let round = 0; round < 3 && !converged; round++) {
      await client.ready(this.opts.connectTimeoutMs ?? 10_000);
      const plan = planConverge(replica, await client.getSchema(NB_DB), rows);
      if (plan.ops.length === 0) {
        converged = true;
        break;
      }
      const txn = await client.transaction(NB_DB);
      const opIndex = addOps(txn, plan.ops);
      txn.comment(`novanet: ${plan.actions.length} changes`);
      let results;
      try {
        results = await txn.commit();
      } catch (e) {
        if (e instanceof PhotonError && e.code === "OVSDB:TransactionFailed") {
          throw DataplaneErrors.CommandFailed(`northbound transaction refused: ${e.message}`, { cause: e, details: { ovsdb: e.details } });
        }
        throw e;
      }
      actions.push(...plan.actions);
      converged = !plan.ops.some((op, i) => op.op === "update" && results[opIndex[i]!]?.count === 0);
    }
    this.last = converged ? { text, rows, generation: replica.generation } : undefined;
    if (actions.length > 0) this.log.info("northbound converged", { changes: actions.length });
    return { changes: actions.length, actions };
  }

  /** Reports novanet's VPCs and ports as the northbound database holds them, with row counts per table. */
  async inspect(): Promise<HostNetworkInspection> {
    const { client, replica } = await this.connect();
    await client.ready(this.opts.connectTimeoutMs ?? 10_000);
    const vpcs: VpcInspection[] = [];
    for (const ls of replica.rows("Logical_Switch").values()) {
      const tag = ownedTag(ls);
      if (tag?.kind !== "vpc") continue;
      const ids = ls.external_ids as Record<string, string>;
      const ports = (ls.ports as string[])
        .map((u) => replica.get("Logical_Switch_Port", u))
        .filter((p) => p !== undefined && ownedTag(p)?.kind === "port")
        .map((p) => ({ device: p!.name as string, kind: "ovn", up: (p!.up as boolean[])[0] === true, complete: true }));
      vpcs.push({ vni: Number(ids["novanet:vni"] ?? 0), ports, fdb: [], neighbours: [] });
    }
    const rows: Record<string, number> = {};
    for (const t of OWNED_TABLES) rows[t] = [...replica.rows(t).values()].filter((r) => ownedTag(r)).length;
    return { vpcs, nftables: { tables: [], chains: 0, rules: 0 }, ovn: { rows } };
  }

  /** Closes the northbound connection; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = undefined;
    if (c) (await c.catch(() => undefined))?.client.close();
  }
}

/** Adds the planned operations; returns, per planned op, the index of its first wire operation. */
function addOps(txn: Transaction, ops: PlannedOp[]): number[] {
  const index: number[] = [];
  for (const op of ops) {
    index.push(txn.ops.length);
    if (op.op === "insert") {
      txn.insert(op.table, op.row, op.uuidName);
      continue;
    }
    const where: Condition[] = [["_uuid", "==", op.uuid]];
    if (op.op === "delete") txn.delete(op.table, where);
    else {
      // The update (even with no column) comes first: its count tells whether the row still exists.
      txn.update(op.table, where, op.row);
      const muts: Mutation[] = [];
      for (const s of op.sets) {
        if (s.delete.length > 0) muts.push([s.column, "delete", s.delete]);
        if (s.insert.length > 0) muts.push([s.column, "insert", s.insert]);
      }
      if (muts.length > 0) txn.mutate(op.table, where, muts);
    }
  }
  return index;
}
