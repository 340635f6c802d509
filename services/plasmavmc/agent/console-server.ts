/**
 * The interactive serial console of this host's VMs over WebSocket:
 * `GET /v1/vms/{id}/console` with `Authorization: Bearer <iam token>` upgrades to a WebSocket whose
 * binary/text messages are written to the VM's serial port and whose messages carry what the guest
 * prints. The agent authorises the caller itself through iam (`plasmavmc:vm:console` on the VM's
 * project, read from chainfire), so no secret is shared between the API servers and the agents; a
 * VM of another project is "not found". The VM must run on this host. QEMU's console socket takes
 * one client at a time: a second viewer waits until the first leaves (QEMU's own behaviour).
 */
import type { Logger } from "../../../lib/log.ts";
import { IamGuard, type GuardCaller } from "../../iam/guard.ts";
import { vmPaths } from "../hypervisor/run-dir.ts";
import type { PlasmavmcStore } from "../store.ts";
import { keys } from "../store.ts";
import type { VmRecord } from "../types.ts";

/** Options of {@link startConsoleServer}. */
export interface ConsoleServerOptions {
  host: string;
  port: number;
  store: PlasmavmcStore;
  guard: IamGuard;
  /** This host's name (only its VMs are served). */
  hostName: string;
  runDir: string;
  socketDir?: string;
  logger: Logger;
}

/** A running console server. */
export interface ConsoleServer {
  /** `ws://host:port` */
  readonly url: string;
  stop(): void;
}

type Data = { id: string; unix: string; sock?: Awaited<ReturnType<typeof Bun.connect>>; pending: (string | Uint8Array)[] };

const text = (status: number, body: string) => new Response(`${body}\n`, { status, headers: { "content-type": "text/plain" } });

/** Starts the WebSocket console endpoint (see the file comment). */
export function startConsoleServer(o: ConsoleServerOptions): ConsoleServer {
  const server = Bun.serve<Data>({
    hostname: o.host,
    port: o.port,
    async fetch(req, srv) {
      const m = /^\/v1\/vms\/(vm-[0-9a-f]{1,32})\/console$/.exec(new URL(req.url).pathname);
      if (!m || req.method !== "GET") return text(404, "not found");
      const id = m[1]!;
      let caller: GuardCaller;
      try {
        caller = await o.guard.authenticate(IamGuard.bearer(req.headers.get("authorization") ?? undefined));
      } catch (e) {
        return text(401, (e as Error).message);
      }
      const vm = await o.store.get<VmRecord>(keys.doc("vms", id));
      const ref = vm ? { org: vm.org, project: vm.project, type: "vm", id } : undefined;
      try {
        if (!vm || !ref) throw new Error("absent");
        await o.guard.authorize(caller, "plasmavmc:vm:get", ref);
      } catch {
        return text(404, `vm ${id} not found`);
      }
      try {
        await o.guard.authorize(caller, "plasmavmc:vm:console", ref);
      } catch (e) {
        return text(403, (e as Error).message);
      }
      if (vm.host !== o.hostName) return text(404, `vm ${id} does not run on host ${o.hostName}`);
      const unix = vmPaths(o.runDir, id, o.socketDir).consoleSocket;
      if (srv.upgrade(req, { data: { id, unix, pending: [] } })) return undefined;
      return text(400, "expected a WebSocket upgrade");
    },
    websocket: {
      async open(ws) {
        try {
          ws.data.sock = await Bun.connect({
            unix: ws.data.unix,
            socket: {
              data: (_s, chunk) => void ws.send(chunk),
              close: () => ws.close(1000, "console closed"),
              error: () => ws.close(1011, "console error"),
            },
          });
          for (const p of ws.data.pending.splice(0)) ws.data.sock.write(p);
        } catch (e) {
          o.logger.warn("console socket unavailable", { vm: ws.data.id, error: (e as Error).message });
          ws.close(1011, "the VM's console is not available (is it running?)");
        }
      },
      message(ws, msg) {
        if (ws.data.sock) ws.data.sock.write(msg);
        else ws.data.pending.push(msg);
      },
      close(ws) {
        ws.data.sock?.end();
      },
    },
  });
  const host = o.host === "0.0.0.0" || o.host === "" ? "127.0.0.1" : o.host;
  return { url: `ws://${host}:${server.port}`, stop: () => server.stop(true) };
}
