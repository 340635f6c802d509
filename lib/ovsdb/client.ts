/**
 * An RFC 7047 (OVSDB management protocol) client over one persistent connection (unix socket or
 * TCP): JSON-RPC with request ids, answers to the server's `echo` keepalives and its own probes,
 * `list_dbs`, `get_schema`, schema-aware transactions ({@link Transaction}) and monitors that keep
 * an in-memory {@link Replica}. When the connection drops, requests in flight fail with
 * `OVSDB:Disconnected`, the client reconnects with backoff and re-establishes every monitor (the
 * replica is then replaced by the server's current contents).
 *
 * @example
 * const c = await OvsdbClient.connect({ remote: "unix:/run/ovn/ovnnb_db.sock" });
 * const nb = await c.monitor("OVN_Northbound", ["Logical_Switch"]);
 * await (await c.transaction("OVN_Northbound")).insert("Logical_Switch", { name: "ls0" }).commit();
 * console.log([...nb.rows("Logical_Switch").values()].map((r) => r.name));
 * c.close();
 */
import { createConnection, type Socket } from "node:net";
import { PhotonError } from "../errors.ts";
import { OvsdbErrors } from "./errors.ts";
import { JsonStreamSplitter } from "./json-stream.ts";
import { parseRemote, type OvsdbRemote } from "./remote.ts";
import { Replica } from "./replica.ts";
import type { DatabaseSchema } from "./schema.ts";
import { Transaction } from "./transaction.ts";

/** Options of {@link OvsdbClient.connect}. */
export interface OvsdbClientOptions {
  /** `unix:/path` or `tcp:host:port`. */
  remote: string;
  /** A request without answer for this long fails with `OVSDB:Timeout` (default 30 000 ms). */
  requestTimeoutMs?: number;
  /** Idle time after which the client sends an echo; no answer in as long again drops the connection (default 5000; 0 = off). */
  probeIntervalMs?: number;
  /** Reconnect after a drop (default true). The first connect never retries. */
  reconnect?: boolean;
  /** Upper bound of the reconnect backoff (default 4000 ms; it starts at 50 ms). */
  maxBackoffMs?: number;
  /** `monitor_cond` (default; differences only, falls back when unknown) or plain RFC 7047 `monitor`. */
  monitorMethod?: "monitor_cond" | "monitor";
  /** Told about connection state changes. */
  onStateChange?: (state: "connected" | "disconnected") => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
  method: string;
}

interface MonitorReg {
  id: string;
  replica: Replica;
}

/** A connected OVSDB client. Create with {@link OvsdbClient.connect}; end with {@link OvsdbClient.close}. */
export class OvsdbClient {
  private socket: Socket | undefined;
  private splitter = new JsonStreamSplitter();
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly schemas = new Map<string, DatabaseSchema>();
  private readonly monitors = new Map<string, MonitorReg>();
  private closed = false;
  private noMonitorCond = false;
  private lastRx = Date.now();
  private probeOutstanding = false;
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  private reconnecting: Promise<void> | undefined;
  private readonly remote: OvsdbRemote;
  /** Times the connection was (re)established; 1 after connect. */
  connects = 0;

  private constructor(private readonly opts: OvsdbClientOptions) {
    this.remote = parseRemote(opts.remote);
  }

  /**
   * Connects once (no retry).
   * @throws PhotonError `OVSDB:ConnectionFailed` when nothing answers at `remote`,
   *   `PHOTON:InvalidArgument` for a malformed remote.
   */
  static async connect(opts: OvsdbClientOptions): Promise<OvsdbClient> {
    const c = new OvsdbClient(opts);
    await c.open();
    const probe = opts.probeIntervalMs ?? 5000;
    if (probe > 0) {
      c.probeTimer = setInterval(() => c.probe(probe), Math.max(10, Math.floor(probe / 2)));
      c.probeTimer.unref?.();
    }
    return c;
  }

  /** True while a connection is up. */
  get connected(): boolean {
    return this.socket !== undefined && !this.closed;
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const r = this.remote;
      const sock = r.kind === "unix" ? createConnection({ path: r.path }) : createConnection({ host: r.host, port: r.port });
      let up = false;
      sock.once("connect", () => {
        up = true;
        this.socket = sock;
        this.splitter = new JsonStreamSplitter();
        this.lastRx = Date.now();
        this.probeOutstanding = false;
        this.connects++;
        this.opts.onStateChange?.("connected");
        resolve();
      });
      sock.on("data", (chunk: Buffer) => this.onData(sock, chunk));
      sock.on("error", (e) => {
        if (!up) reject(OvsdbErrors.ConnectionFailed(`cannot connect to ${this.opts.remote}: ${e.message}`, { cause: e }));
      });
      sock.on("close", () => {
        if (up) this.onClose(sock);
      });
    });
  }

  private onData(sock: Socket, chunk: Buffer): void {
    if (sock !== this.socket) return;
    this.lastRx = Date.now();
    this.probeOutstanding = false;
    // Bytes that are not JSON-RPC, or updates that do not fit the schema, are the peer's fault:
    // drop the connection (and reconnect), never throw out of the socket's event handler.
    try {
      for (const m of this.splitter.push(chunk)) this.dispatch(m as Record<string, unknown>);
    } catch {
      sock.destroy();
    }
  }

  private dispatch(m: Record<string, unknown>): void {
    if (typeof m !== "object" || m === null || Array.isArray(m)) return;
    if (typeof m.method === "string") {
      if (m.method === "echo") this.write({ id: m.id, result: m.params ?? [], error: null });
      else if ((m.method === "update" || m.method === "update2") && Array.isArray(m.params)) {
        const [id, updates] = m.params as [unknown, never];
        const reg = this.monitors.get(JSON.stringify(id));
        if (m.method === "update") reg?.replica.applyUpdates(updates, false);
        else reg?.replica.applyUpdates2(updates, false);
      }
      return;
    }
    const key = JSON.stringify(m.id);
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    if (m.error != null) {
      const err = m.error as { error?: string; details?: string } | string;
      const text = typeof err === "string" ? err : `${err.error ?? "error"}${err.details ? `: ${err.details}` : ""}`;
      p.reject(OvsdbErrors.RpcError(`${p.method}: ${text}`, { details: { error: err } }));
    } else p.resolve(m.result);
  }

  private write(msg: unknown): void {
    this.socket?.write(JSON.stringify(msg));
  }

  private probe(interval: number): void {
    if (!this.socket) return;
    const idle = Date.now() - this.lastRx;
    if (this.probeOutstanding && idle >= 2 * interval) {
      this.socket.destroy();
    } else if (!this.probeOutstanding && idle >= interval) {
      this.probeOutstanding = true;
      this.write({ method: "echo", params: ["photon-probe"], id: `probe-${this.nextId++}` });
    }
  }

  private onClose(sock: Socket): void {
    if (sock !== this.socket) return;
    this.socket = undefined;
    for (const [k, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(this.closed ? OvsdbErrors.Closed("client closed") : OvsdbErrors.Disconnected(`${p.method}: connection to ${this.opts.remote} lost`));
      this.pending.delete(k);
    }
    if (this.closed) return;
    this.opts.onStateChange?.("disconnected");
    if (this.opts.reconnect ?? true) this.reconnecting ??= this.reconnectLoop().finally(() => (this.reconnecting = undefined));
  }

  private async reconnectLoop(): Promise<void> {
    let backoff = 50;
    const max = this.opts.maxBackoffMs ?? 4000;
    while (!this.closed) {
      await Bun.sleep(backoff);
      if (this.closed) return;
      try {
        await this.open();
      } catch {
        backoff = Math.min(max, backoff * 2);
        continue;
      }
      try {
        for (const reg of this.monitors.values()) await this.startMonitor(reg);
        return;
      } catch {
        // This loop is still the reconnecting one (onClose will not start another): go round again.
        this.socket?.destroy();
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  /**
   * Resolves once connected (at once when up); while reconnecting, waits up to `timeoutMs`.
   * @throws PhotonError `OVSDB:Timeout` when still down after `timeoutMs`, `OVSDB:Closed` after close.
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.connected || this.reconnecting) {
      if (this.closed) throw OvsdbErrors.Closed("client closed");
      if (Date.now() > deadline) throw OvsdbErrors.Timeout(`not connected to ${this.opts.remote} after ${timeoutMs} ms`);
      await Bun.sleep(20);
    }
  }

  /**
   * Sends one JSON-RPC request and resolves with its `result`.
   * @throws PhotonError `OVSDB:RpcError` (server error), `OVSDB:Timeout`, `OVSDB:Disconnected`, `OVSDB:Closed`.
   */
  request(method: string, params: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(OvsdbErrors.Closed("client closed"));
    if (!this.socket) return Promise.reject(OvsdbErrors.Disconnected(`${method}: not connected to ${this.opts.remote}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeout = this.opts.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.pending.delete(String(id));
        reject(OvsdbErrors.Timeout(`${method}: no answer from ${this.opts.remote} in ${timeout} ms`));
      }, timeout);
      this.pending.set(String(id), { resolve, reject, timer, method });
      this.write({ method, params, id });
    });
  }

  /** Names of the databases the server holds. */
  async listDbs(): Promise<string[]> {
    return (await this.request("list_dbs", [])) as string[];
  }

  /** The schema of `db` (fetched once per client, then cached). @throws `OVSDB:RpcError` for an unknown db. */
  async getSchema(db: string): Promise<DatabaseSchema> {
    let s = this.schemas.get(db);
    if (!s) {
      s = (await this.request("get_schema", [db])) as DatabaseSchema;
      this.schemas.set(db, s);
    }
    return s;
  }

  /** Sends raw RFC 7047 operations; returns the raw result array (errors inside it are NOT thrown). */
  async transactRaw(db: string, ops: unknown[]): Promise<unknown[]> {
    return (await this.request("transact", [db, ...ops])) as unknown[];
  }

  /** Starts a schema-aware transaction on `db`; send it with `commit()`. */
  async transaction(db: string): Promise<Transaction> {
    const schema = await this.getSchema(db);
    return new Transaction(schema, (d, ops) => this.transactRaw(d, ops));
  }

  /**
   * Monitors all columns of `tables` in `db` and returns the live replica. It stays current while
   * the client lives, across reconnects.
   * @throws PhotonError `OVSDB:RpcError` (unknown db/table), `OVSDB:InvalidValue` (table not in schema).
   */
  async monitor(db: string, tables: string[]): Promise<Replica> {
    const schema = await this.getSchema(db);
    for (const t of tables) if (!schema.tables[t]) throw OvsdbErrors.InvalidValue(`unknown table ${t} in ${db}`);
    const reg: MonitorReg = { id: `replica-${this.nextId++}`, replica: new Replica(db, schema, tables) };
    this.monitors.set(JSON.stringify(reg.id), reg);
    try {
      await this.startMonitor(reg);
    } catch (e) {
      this.monitors.delete(JSON.stringify(reg.id));
      throw e;
    }
    return reg.replica;
  }

  /**
   * Starts `monitor_cond` (ovsdb-server's extension: modifications arrive as differences, so a
   * one-element change to a large set costs one element) and falls back to RFC 7047 `monitor`
   * on a server that does not know it, or when the client was told to (`monitorMethod`).
   */
  private async startMonitor(reg: MonitorReg): Promise<void> {
    const db = reg.replica.db;
    if ((this.opts.monitorMethod ?? "monitor_cond") === "monitor_cond" && !this.noMonitorCond) {
      const req = Object.fromEntries(reg.replica.tables.map((t) => [t, [{}]]));
      try {
        const initial = await this.request("monitor_cond", [db, reg.id, req]);
        reg.replica.applyUpdates2(initial as never, true);
        return;
      } catch (e) {
        if (!(e instanceof PhotonError && e.code === "OVSDB:RpcError" && /unknown method/i.test(e.message))) throw e;
        this.noMonitorCond = true;
      }
    }
    const req = Object.fromEntries(reg.replica.tables.map((t) => [t, {}]));
    const initial = await this.request("monitor", [db, reg.id, req]);
    reg.replica.applyUpdates(initial as never, true);
  }

  /** Closes the connection for good; requests in flight fail with `OVSDB:Closed`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    const s = this.socket;
    if (s) {
      s.destroy();
      this.onClose(s);
    }
  }
}
