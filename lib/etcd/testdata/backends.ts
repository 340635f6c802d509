/**
 * The two servers the etcd client's tests run against, behind one interface: chainfire in
 * process and a real etcd 3.4 process (Debian's etcd-server) on loopback, each with its own
 * temporary data directory. Plus a TCP proxy that can cut every connection, to break streams
 * the way a network failure does.
 *
 * Test-only: this is the one place lib/ reaches into services/ (to start chainfire).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../log.ts";
import { createMetrics } from "../../metrics.ts";
import { startChainfire } from "../../../services/chainfire/server.ts";

/** Server TLS files for a backend: clients must present a certificate signed by `caFile`. */
export interface ServerTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** A running server. */
export interface Backend {
  readonly name: "chainfire" | "etcd";
  /** `http://127.0.0.1:<port>` (https with TLS) */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** How to start one backend, and why it is skipped (undefined when it can run). */
export interface BackendKind {
  name: "chainfire" | "etcd";
  skip: string | undefined;
  start(tls?: ServerTls): Promise<Backend>;
}

/** Path of the etcd binary the tests use. */
export const ETCD_BIN = "/usr/bin/etcd";

/** A free TCP port on 127.0.0.1 (closed again before returning: tiny race, fine for tests). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** chainfire in this process, on port 0, in a fresh temp dir. */
export async function startChainfireBackend(tls?: ServerTls): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "etcd-client-chainfire-"));
  const server = await startChainfire({
    dataDir: dir,
    name: "n1",
    host: "127.0.0.1",
    port: 0,
    httpPort: 0,
    logger: createLogger("chainfire", { level: "error" }),
    metrics: createMetrics("chainfire", { processMetrics: false }),
    ...(tls ? { tls: { ...tls, requireClientCert: true } } : {}),
  }).catch((e: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  return {
    name: "chainfire",
    endpoint: server.endpoint,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real etcd on 127.0.0.1 with random ports and a fresh data dir; peers on loopback too, so it
 * looks nothing up beyond it. Stopped by its PID.
 */
export async function startEtcdBackend(tls?: ServerTls): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "etcd-client-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `${tls ? "https" : "http"}://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc: ChildProcess = spawn(
    ETCD_BIN,
    [
      "--name", "t1",
      "--data-dir", join(dir, "data"),
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", peerUrl,
      "--initial-advertise-peer-urls", peerUrl,
      "--initial-cluster", `t1=${peerUrl}`,
      "--initial-cluster-state", "new",
      "--initial-cluster-token", `etcd-client-test-${client}`,
      "--logger", "zap",
      "--log-level", "error",
      ...(tls ? ["--cert-file", tls.certFile, "--key-file", tls.keyFile, "--trusted-ca-file", tls.caFile, "--client-cert-auth"] : []),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const pid = proc.pid;
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const stop = async () => {
    if (pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      process.kill(pid, "SIGTERM");
      const t = setTimeout(() => proc.exitCode === null && proc.signalCode === null && process.kill(pid, "SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const fetchOptions = tls
    ? { tls: { ca: readFileSync(tls.caFile, "utf8"), cert: readFileSync(tls.certFile, "utf8"), key: readFileSync(tls.keyFile, "utf8") } }
    : {};
  try {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}: ${stderr}`);
      try {
        const r = await fetch(`${endpoint}/health`, fetchOptions);
        if (r.ok && ((await r.json()) as { health?: string }).health === "true") break;
      } catch {
        // not listening yet
      }
      if (i > 150) throw new Error(`etcd did not become healthy in 15 s: ${stderr}`);
      await Bun.sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { name: "etcd", endpoint, stop };
}

/** Both backends; etcd is skipped (with the reason) when its binary is missing. */
export const BACKENDS: BackendKind[] = [
  { name: "chainfire", skip: undefined, start: startChainfireBackend },
  {
    name: "etcd",
    skip: existsSync(ETCD_BIN) ? undefined : `${ETCD_BIN} not found (apt-get install -y etcd-server)`,
    start: startEtcdBackend,
  },
];

for (const b of BACKENDS) if (b.skip) console.log(`skipping the ${b.name} backend: ${b.skip}`);

/** A TCP proxy to `target` on 127.0.0.1 whose connections can all be cut at once. */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Number of connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly targetPort: number,
    readonly port: number,
    server: net.Server,
  ) {
    this.server = server;
  }

  /** Starts a proxy to `http://127.0.0.1:<port>`. */
  static async start(targetEndpoint: string): Promise<TcpProxy> {
    const targetPort = Number(new URL(targetEndpoint).port);
    let self: TcpProxy | undefined;
    const server = net.createServer((inbound) => self?.onConnection(inbound));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    self = new TcpProxy(targetPort, (server.address() as net.AddressInfo).port, server);
    return self;
  }

  /** `http://127.0.0.1:<proxy port>` */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Destroys every open connection (both sides), like a network failure. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Stops accepting and cuts everything. */
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private onConnection(inbound: net.Socket): void {
    this.accepted++;
    const outbound = net.connect(this.targetPort, "127.0.0.1");
    this.sockets.add(inbound);
    this.sockets.add(outbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      this.sockets.delete(inbound);
      this.sockets.delete(outbound);
    };
    inbound.on("error", drop).on("close", drop);
    outbound.on("error", drop).on("close", drop);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }
}
