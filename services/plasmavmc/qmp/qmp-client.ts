/**
 * A persistent client of QEMU's machine protocol (QMP) over its unix socket.
 *
 * QMP (docs/interop/qmp-spec in QEMU) is JSON objects, one per line: a greeting, then
 * `{"execute": ..., "id": ...}` commands answered by `{"return"|"error": ..., "id": ...}`, with
 * asynchronous `{"event": ...}` messages in between. This client keeps one connection per VM for its
 * whole life (QEMU serves one client per monitor at a time), matches answers to commands by id,
 * emits events, bounds every wait with a timeout, and turns every failure into a `PLASMAVMC:Qmp*`
 * error. When QEMU dies every pending command fails with `PLASMAVMC:QmpDisconnected` and `close` is
 * emitted once.
 */
import { EventEmitter } from "node:events";
import { createConnection, type Socket } from "node:net";
import { PhotonError } from "../../../lib/errors.ts";
import { PlasmavmcErrors } from "../errors.ts";

/** The greeting QEMU sends on connect. */
export interface QmpGreeting {
  QMP: { version: { qemu: { major: number; minor: number; micro: number }; package: string }; capabilities: string[] };
}

/** An asynchronous QMP event (`SHUTDOWN`, `STOP`, `RESUME`, `RESET`, `GUEST_PANICKED`, ...). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** Options of {@link QmpClient.connect}. */
export interface QmpClientOptions {
  /** How long to wait for the connection and the greeting (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Default timeout of each command (default 10000 ms). */
  commandTimeoutMs?: number;
}

/** Events of a {@link QmpClient}. */
export interface QmpClientEvents {
  /** An asynchronous QMP event. */
  event: [QmpEvent];
  /** The connection closed (QEMU exited, or `close()`); `error` is set when it was not asked for. */
  close: [PhotonError | undefined];
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: PhotonError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One QMP connection. Create it with {@link QmpClient.connect}, which has already negotiated
 * capabilities when it resolves.
 * @example
 * const qmp = await QmpClient.connect("/run/photon/vms/web-1/qmp.sock");
 * const { status } = await qmp.execute<{ status: string }>("query-status");
 * qmp.on("event", (e) => console.log(e.event));
 * qmp.close();
 */
export class QmpClient extends EventEmitter<QmpClientEvents> {
  /** The greeting QEMU sent (its version and capabilities). */
  readonly greeting: QmpGreeting;
  readonly socketPath: string;
  private readonly socket: Socket;
  private readonly commandTimeoutMs: number;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private isClosed = false;

  private constructor(socket: Socket, socketPath: string, greeting: QmpGreeting, commandTimeoutMs: number, rest: string) {
    super();
    this.socket = socket;
    this.socketPath = socketPath;
    this.greeting = greeting;
    this.commandTimeoutMs = commandTimeoutMs;
    let buffered = rest;
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.onLine(line);
      }
    });
    socket.on("error", () => {
      /* the close handler reports it */
    });
    socket.on("close", () => this.onClose());
  }

  /**
   * Connects to a QMP socket, reads the greeting and enters command mode (`qmp_capabilities`).
   * @throws PLASMAVMC:QmpConnectFailed when the socket is missing or refuses; PLASMAVMC:QmpTimeout
   *   when no greeting arrives in time (QEMU hung, or another client holds the monitor);
   *   PLASMAVMC:QmpProtocol when the peer does not speak QMP.
   */
  static async connect(socketPath: string, options: QmpClientOptions = {}): Promise<QmpClient> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    const commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
    const attempt = () => new Promise<{ socket: Socket; greeting: QmpGreeting; rest: string }>(
      (resolve, reject) => {
        const socket = createConnection({ path: socketPath });
        let buffered = "";
        const fail = (e: PhotonError) => {
          clearTimeout(timer);
          socket.destroy();
          reject(e);
        };
        const timer = setTimeout(
          () =>
            fail(PlasmavmcErrors.QmpTimeout(`no QMP greeting on ${socketPath} within ${connectTimeoutMs} ms (QEMU hung, or another client holds the monitor)`, {
              details: { socketPath },
            })),
          connectTimeoutMs,
        );
        socket.on("error", (e: NodeJS.ErrnoException) =>
          fail(PlasmavmcErrors.QmpConnectFailed(`cannot connect to QMP socket ${socketPath}: ${e.code ?? e.message}`, {
            cause: e,
            details: { socketPath, errno: e.code },
          })),
        );
        socket.on("close", () =>
          fail(PlasmavmcErrors.QmpConnectFailed(`QMP socket ${socketPath} closed before the greeting`, { details: { socketPath } })),
        );
        const onData = (chunk: Buffer) => {
          buffered += chunk.toString("utf8");
          const nl = buffered.indexOf("\n");
          if (nl < 0) {
            if (buffered.length > 65536) fail(PlasmavmcErrors.QmpProtocol(`${socketPath} sent no QMP greeting line`));
            return;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(buffered.slice(0, nl));
          } catch {
            fail(PlasmavmcErrors.QmpProtocol(`${socketPath} is not a QMP socket: its first line is not JSON`));
            return;
          }
          if (typeof parsed !== "object" || parsed === null || !("QMP" in parsed)) {
            fail(PlasmavmcErrors.QmpProtocol(`${socketPath} is not a QMP socket: no greeting`));
            return;
          }
          clearTimeout(timer);
          socket.removeAllListeners();
          resolve({ socket, greeting: parsed as QmpGreeting, rest: buffered.slice(nl + 1) });
        };
        socket.on("data", onData);
      },
    );
    // QEMU creates the socket file (bind) a moment before it listens: a refusal right after start
    // is retried for a short while (a stale socket of a dead QEMU fails after that window).
    const started = performance.now();
    let connected: { socket: Socket; greeting: QmpGreeting; rest: string };
    for (;;) {
      try {
        connected = await attempt();
        break;
      } catch (e) {
        const refused = (e as PhotonError).code === "PLASMAVMC:QmpConnectFailed" && (e as PhotonError).details?.errno === "ECONNREFUSED";
        if (!refused || performance.now() - started > Math.min(1000, connectTimeoutMs)) throw e;
        await Bun.sleep(20);
      }
    }
    const { socket, greeting, rest } = connected;
    const client = new QmpClient(socket, socketPath, greeting, commandTimeoutMs, rest);
    try {
      await client.execute("qmp_capabilities", undefined, { timeoutMs: connectTimeoutMs });
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** True once the connection is closed (by either side); every later `execute` fails. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Runs one QMP command and resolves with its `return` value.
   * @throws PLASMAVMC:QmpCommandFailed with `details.class` (QEMU's error class) when QEMU rejects it;
   *   PLASMAVMC:QmpTimeout when no answer arrives within the timeout; PLASMAVMC:QmpDisconnected when
   *   the connection is or becomes closed.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: { timeoutMs?: number } = {}): Promise<T> {
    if (this.isClosed) {
      return Promise.reject(PlasmavmcErrors.QmpDisconnected(`QMP ${this.socketPath} is closed; cannot run ${command}`));
    }
    const id = `photon-${this.nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(PlasmavmcErrors.QmpTimeout(`QMP ${command} got no answer within ${timeoutMs} ms`, { details: { command, socketPath: this.socketPath } }));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id })}\n`);
    });
  }

  /** Waits for the next event named `name` (optionally matching `filter`), up to `timeoutMs`. */
  waitForEvent(name: string, timeoutMs: number, filter: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off("event", onEvent);
        this.off("close", onClose);
      };
      const onEvent = (e: QmpEvent) => {
        if (e.event === name && filter(e)) {
          cleanup();
          resolve(e);
        }
      };
      const onClose = () => {
        cleanup();
        reject(PlasmavmcErrors.QmpDisconnected(`QMP ${this.socketPath} closed while waiting for ${name}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(PlasmavmcErrors.QmpTimeout(`no ${name} event within ${timeoutMs} ms`, { details: { event: name } }));
      }, timeoutMs);
      if (this.isClosed) return onClose();
      this.on("event", onEvent);
      this.on("close", onClose);
    });
  }

  /** Closes the connection; QEMU keeps running. Pending commands fail with QmpDisconnected. */
  close(): void {
    if (this.isClosed) return;
    this.finish(undefined);
    this.socket.destroy();
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only sends JSON; a torn line cannot be matched to anything
    }
    if (typeof msg.event === "string") {
      this.emit("event", msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === "string" ? msg.id : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return; // an answer to a command that already timed out
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ("error" in msg) {
      const err = (msg.error ?? {}) as { class?: string; desc?: string };
      p.reject(
        PlasmavmcErrors.QmpCommandFailed(`QMP ${p.command} failed: ${err.desc ?? "unknown error"}`, {
          details: { command: p.command, class: err.class ?? "GenericError", desc: err.desc },
        }),
      );
    } else {
      p.resolve(msg.return);
    }
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.finish(PlasmavmcErrors.QmpDisconnected(`QMP connection ${this.socketPath} closed by QEMU (it exited or was killed)`));
  }

  private finish(error: PhotonError | undefined): void {
    this.isClosed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(PlasmavmcErrors.QmpDisconnected(`QMP connection ${this.socketPath} closed before ${p.command} was answered`));
    }
    this.emit("close", error);
  }
}
