/**
 * `photon vm|flavor|image|volume <verb> [args] [--flags]`: plasmavmc's resources from the command line,
 * through the saved login (`photon login`) and services/plasmavmc/client.ts. Names or ids are
 * accepted wherever a resource is named (VMs and images are looked up in the project, subnets in
 * novanet); `--project` picks the project (default: the login's); `-o json` prints the API's
 * JSON (lists as arrays); `--wait` waits for long operations (boot, stop, image import) and
 * shows progress on stderr. plasmavmc is found at `--plasmavmc-url`, else through the running
 * node's status (`--data-dir`), else on the configured port on loopback.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PhotonError } from "../../lib/errors.ts";
import { NovanetClient } from "../../services/novanet/client.ts";
import { PlasmavmcClient } from "../../services/plasmavmc/client.ts";
import { PlasmavmcErrors } from "../../services/plasmavmc/errors.ts";
import type { Vm, Volume } from "../../services/plasmavmc/types.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";
import { sessionClient } from "./iam-session.ts";
import { findNovanetUrl } from "./novanet.ts";
import { findComponentUrl } from "../component-url.ts";

type Row = Record<string, unknown>;
type Flags = Record<string, string | boolean | string[] | undefined>;

interface Ctx {
  pv: PlasmavmcClient;
  token: string;
  nn: () => Promise<NovanetClient>;
  project: string | undefined;
  flags: Flags;
  args: string[];
  io: CommandIo;
}

interface Verb {
  usage: string;
  run(ctx: Ctx): Promise<unknown>;
}

const str = (f: Flags, k: string) => (typeof f[k] === "string" ? (f[k] as string) : undefined);
const many = (f: Flags, k: string) => (Array.isArray(f[k]) ? (f[k] as string[]) : undefined);

function arg(ctx: Ctx, i: number, what: string): string {
  const v = ctx.args[i];
  if (v === undefined) throw usageError(`missing ${what}`);
  return v;
}

function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`${what} must be a number, not ${JSON.stringify(v)}`);
  return Number(v);
}

async function vmId(ctx: Ctx, ref: string): Promise<string> {
  if (ref.startsWith("vm-")) return ref;
  const hits = (await ctx.pv.listVms(ctx.project)).items.filter((v) => v.name === ref);
  if (hits.length === 1) return hits[0]!.id;
  throw PlasmavmcErrors.NotFound(`no VM named ${JSON.stringify(ref)} in the project`);
}

async function imageId(ctx: Ctx, ref: string): Promise<string> {
  if (ref.startsWith("img-")) return ref;
  const hits = (await ctx.pv.listImages(ctx.project)).items.filter((v) => v.name === ref);
  if (hits.length === 1) return hits[0]!.id;
  if (hits.length > 1) throw usageError(`several images are named ${JSON.stringify(ref)}: use an id (${hits.map((h) => h.id).join(", ")})`);
  throw PlasmavmcErrors.NotFound(`no image named ${JSON.stringify(ref)} in the project`);
}

async function volumeId(ctx: Ctx, ref: string): Promise<string> {
  if (ref.startsWith("vol-")) return ref;
  const hits = (await ctx.pv.listVolumes(ctx.project)).items.filter((v) => v.name === ref);
  if (hits.length === 1) return hits[0]!.id;
  throw PlasmavmcErrors.NotFound(`no volume named ${JSON.stringify(ref)} in the project`);
}

async function snapshotId(ctx: Ctx, ref: string): Promise<string> {
  if (ref.startsWith("snap-")) return ref;
  const hits = (await ctx.pv.listSnapshots(ctx.project ? { project: ctx.project } : {})).items.filter((v) => v.name === ref);
  if (hits.length === 1) return hits[0]!.id;
  throw PlasmavmcErrors.NotFound(`no snapshot named ${JSON.stringify(ref)} in the project`);
}

/** Waits (with --wait) until the volume satisfies `done`; fails when it lands in ERROR. */
async function volumeWaited(ctx: Ctx, vol: Volume, done: (v: Volume) => boolean): Promise<Volume | undefined> {
  if (!ctx.flags.wait) return vol;
  const v = await ctx.pv.waitForVolume(vol.id, (x) => done(x) || x.state === "ERROR", 600_000, 300);
  if (v?.state === "ERROR") throw PlasmavmcErrors.InvalidState(`volume ${v.name} is in ERROR: ${v.reason ?? "no reason given"}`, { details: { id: v.id } });
  return v;
}

/** `photon volume snapshot create VOLUME NAME | list [VOLUME] | get SNAP | delete SNAP`. */
async function snapshotVerb(ctx: Ctx): Promise<unknown> {
  const [sub, ...rest] = ctx.args;
  const c = { ...ctx, args: rest };
  switch (sub) {
    case "create": {
      const snap = await ctx.pv.createSnapshot(await volumeId(c, arg(c, 0, "VOLUME")), arg(c, 1, "NAME"));
      if (!ctx.flags.wait) return snap;
      const end = Date.now() + 600_000;
      for (let s = snap; ; s = await ctx.pv.getSnapshot(snap.id)) {
        if (s.state !== "CREATING") return s;
        if (Date.now() > end) throw PlasmavmcErrors.Unavailable(`snapshot ${snap.name} is still CREATING`);
        await Bun.sleep(300);
      }
    }
    case "list": return (await ctx.pv.listSnapshots({ ...(ctx.project ? { project: ctx.project } : {}), ...(rest[0] ? { volume: await volumeId(c, rest[0]) } : {}) })).items;
    case "get": return ctx.pv.getSnapshot(await snapshotId(c, arg(c, 0, "SNAPSHOT")));
    case "delete": return ctx.pv.deleteSnapshot(await snapshotId(c, arg(c, 0, "SNAPSHOT")));
    default: throw usageError("usage: photon volume snapshot create VOLUME NAME | list [VOLUME] | get SNAPSHOT | delete SNAPSHOT");
  }
}

async function subnetId(ctx: Ctx, ref: string): Promise<string> {
  if (ref.startsWith("sn_")) return ref;
  const hits = (await (await ctx.nn()).listSubnets(ctx.project ? { project: ctx.project } : {})).items.filter((s) => s.name === ref);
  if (hits.length === 1) return hits[0]!.id;
  throw new PhotonError("NOVANET:NotFound", `no subnet named ${JSON.stringify(ref)} in the project`, { grpc: 5 });
}

/** Waits (with --wait) until the VM leaves `from` states; fails when it lands in ERROR. */
async function waited(ctx: Ctx, vm: Vm, done: (v: Vm) => boolean): Promise<Vm | undefined> {
  if (!ctx.flags.wait) return vm;
  let last = "";
  const v = await ctx.pv.waitForVm(vm.id, (x) => {
    if (x.state !== last) ctx.io.stderr(`${x.name}: ${(last = x.state)}${x.reason ? ` (${x.reason})` : ""}\n`);
    return done(x) || x.state === "ERROR";
  }, 600_000, 500);
  if (v?.state === "ERROR") throw PlasmavmcErrors.InvalidState(`vm ${v.name} is in ERROR: ${v.reason ?? "no reason given"}`, { details: { id: v.id } });
  return v;
}

/**
 * Bridges the terminal to a VM's serial console until the connection closes, Ctrl-] is typed, or
 * (stdin not a terminal) a second after stdin ends.
 */
async function serialConsole(url: string, token: string, io: CommandIo): Promise<void> {
  // Bun's WebSocket takes headers in its second argument (not in the DOM typings).
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const tty = process.stdin.isTTY === true;
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(PlasmavmcErrors.Unavailable(`cannot open the console at ${url} (refused, or the host is unreachable)`));
  });
  ws.onmessage = (e) => io.stdout(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer));
  if (tty) {
    process.stdin.setRawMode(true);
    io.stderr("connected; Ctrl-] quits\r\n");
  }
  const closed = new Promise<void>((resolve) => (ws.onclose = () => resolve()));
  const onData = (chunk: Buffer) => {
    if (tty && chunk.includes(0x1d)) return ws.close();
    ws.send(chunk);
  };
  process.stdin.on("data", onData);
  process.stdin.once("end", () => setTimeout(() => ws.close(), 1000));
  await closed;
  process.stdin.off("data", onData);
  if (tty) process.stdin.setRawMode(false);
  process.stdin.pause();
}

const vmAction = (name: "startVm" | "rebootVm" | "pauseVm" | "resumeVm", target: Vm["state"]): Verb => ({
  usage: `${name.replace("Vm", "")} NAME|ID [--wait]`,
  run: async (ctx) => waited(ctx, await ctx.pv[name](await vmId(ctx, arg(ctx, 0, "NAME|ID"))), (v) => v.state === target),
});

const resources: Record<string, { columns: string[]; verbs: Record<string, Verb> }> = {
  vm: {
    columns: ["id", "name", "state", "host", "addresses", "vcpus", "memoryMiB", "reason"],
    verbs: {
      create: {
        usage: "create NAME --flavor F --image I (--subnet S | --port P...) [--user-data FILE] [--ssh-key KEY...] [--machine microvm|q35] [--wait]",
        run: async (ctx) => {
          const userData = str(ctx.flags, "user-data");
          const vm = await ctx.pv.createVm({
            name: arg(ctx, 0, "NAME"),
            flavor: str(ctx.flags, "flavor") ?? (() => { throw usageError("give --flavor"); })(),
            image: await imageId(ctx, str(ctx.flags, "image") ?? (() => { throw usageError("give --image"); })()),
            ...(ctx.project ? { project: ctx.project } : {}),
            ...(str(ctx.flags, "subnet") ? { subnet: await subnetId(ctx, str(ctx.flags, "subnet")!) } : {}),
            ...(many(ctx.flags, "port") ? { ports: many(ctx.flags, "port") } : {}),
            ...(userData ? { userData: readFileSync(userData, "utf8") } : {}),
            ...(many(ctx.flags, "ssh-key") ? { sshKeys: many(ctx.flags, "ssh-key")!.map((k) => (k.startsWith("@") ? readFileSync(k.slice(1), "utf8").trim() : k)) } : {}),
            ...(str(ctx.flags, "machine") ? { machine: str(ctx.flags, "machine") } : {}),
          });
          return waited(ctx, vm, (v) => v.state === "RUNNING");
        },
      },
      list: { usage: "list", run: async (ctx) => (await ctx.pv.listVms(ctx.project)).items },
      get: { usage: "get NAME|ID", run: async (ctx) => ctx.pv.getVm(await vmId(ctx, arg(ctx, 0, "NAME|ID"))) },
      start: vmAction("startVm", "RUNNING"),
      stop: {
        usage: "stop NAME|ID [--deadline-ms N] [--wait]",
        run: async (ctx) => waited(ctx, await ctx.pv.stopVm(await vmId(ctx, arg(ctx, 0, "NAME|ID")), int(str(ctx.flags, "deadline-ms"), "--deadline-ms")), (v) => v.state === "STOPPED"),
      },
      reboot: vmAction("rebootVm", "RUNNING"),
      pause: vmAction("pauseVm", "PAUSED"),
      resume: vmAction("resumeVm", "RUNNING"),
      resize: { usage: "resize NAME|ID --flavor F", run: async (ctx) => ctx.pv.resizeVm(await vmId(ctx, arg(ctx, 0, "NAME|ID")), str(ctx.flags, "flavor") ?? (() => { throw usageError("give --flavor"); })()) },
      delete: { usage: "delete NAME|ID", run: async (ctx) => ctx.pv.deleteVm(await vmId(ctx, arg(ctx, 0, "NAME|ID"))) },
      console: {
        usage: "console NAME|ID   (interactive serial console; Ctrl-] quits)",
        run: async (ctx) => {
          const vm = await ctx.pv.getVm(await vmId(ctx, arg(ctx, 0, "NAME|ID")));
          if (!vm.consoleUrl) throw PlasmavmcErrors.InvalidState(`vm ${vm.name} has no console now (${vm.state}${vm.reason ? `: ${vm.reason}` : ""})`, { details: { id: vm.id } });
          await serialConsole(vm.consoleUrl, ctx.token, ctx.io);
          return undefined;
        },
      },
      "console-log": {
        usage: "console-log NAME|ID",
        run: async (ctx) => {
          const r = await ctx.pv.consoleLog(await vmId(ctx, arg(ctx, 0, "NAME|ID")));
          if (ctx.flags.output === "json") return r;
          ctx.io.stdout(r.log);
          return undefined;
        },
      },
    },
  },
  flavor: {
    columns: ["id", "name", "vcpus", "memoryMiB", "diskGiB"],
    verbs: {
      create: {
        usage: "create NAME --vcpus N --memory-mib N [--disk-gib N]",
        run: (ctx) => ctx.pv.createFlavor({ name: arg(ctx, 0, "NAME"), vcpus: int(str(ctx.flags, "vcpus"), "--vcpus") ?? 0, memoryMiB: int(str(ctx.flags, "memory-mib"), "--memory-mib") ?? 0, ...(str(ctx.flags, "disk-gib") ? { diskGiB: int(str(ctx.flags, "disk-gib"), "--disk-gib")! } : {}) }),
      },
      list: { usage: "list", run: async (ctx) => (await ctx.pv.listFlavors()).items },
      get: { usage: "get NAME|ID", run: (ctx) => ctx.pv.getFlavor(arg(ctx, 0, "NAME|ID")) },
      delete: { usage: "delete NAME|ID", run: async (ctx) => ctx.pv.deleteFlavor((await ctx.pv.getFlavor(arg(ctx, 0, "NAME|ID"))).id) },
    },
  },
  volume: {
    columns: ["id", "name", "state", "sizeGiB", "vm", "host", "reason"],
    verbs: {
      create: {
        usage: "create NAME (--size-gib N | --image I | --snapshot S) [--wait]",
        run: async (ctx) => {
          const vol = await ctx.pv.createVolume({
            name: arg(ctx, 0, "NAME"), ...(ctx.project ? { project: ctx.project } : {}),
            ...(str(ctx.flags, "size-gib") ? { sizeGiB: int(str(ctx.flags, "size-gib"), "--size-gib")! } : {}),
            ...(str(ctx.flags, "image") ? { image: await imageId(ctx, str(ctx.flags, "image")!) } : {}),
            ...(str(ctx.flags, "snapshot") ? { snapshot: await snapshotId(ctx, str(ctx.flags, "snapshot")!) } : {}),
          });
          return volumeWaited(ctx, vol, (v) => v.state !== "CREATING");
        },
      },
      list: { usage: "list", run: async (ctx) => (await ctx.pv.listVolumes(ctx.project)).items },
      get: { usage: "get NAME|ID", run: async (ctx) => ctx.pv.getVolume(await volumeId(ctx, arg(ctx, 0, "NAME|ID"))) },
      delete: { usage: "delete NAME|ID", run: async (ctx) => ctx.pv.deleteVolume(await volumeId(ctx, arg(ctx, 0, "NAME|ID"))) },
      attach: {
        usage: "attach NAME|ID --vm VM [--wait]",
        run: async (ctx) => volumeWaited(ctx, await ctx.pv.attachVolume(await volumeId(ctx, arg(ctx, 0, "NAME|ID")), await vmId(ctx, str(ctx.flags, "vm") ?? (() => { throw usageError("give --vm"); })())), (v) => v.state === "IN-USE"),
      },
      detach: {
        usage: "detach NAME|ID [--wait]",
        run: async (ctx) => volumeWaited(ctx, await ctx.pv.detachVolume(await volumeId(ctx, arg(ctx, 0, "NAME|ID"))), (v) => v.state === "AVAILABLE"),
      },
      snapshot: { usage: "snapshot create VOLUME NAME [--wait] | snapshot list [VOLUME] | snapshot get SNAP | snapshot delete SNAP", run: snapshotVerb },
    },
  },
  image: {
    columns: ["id", "name", "kind", "state", "format", "bytes", "error"],
    verbs: {
      create: {
        usage: "create NAME (--file PATH | --url URL) [--kind disk|kernel|initrd] [--sha256 HEX] [--initrd IMAGE] [--cmdline TEXT] [--wait]",
        run: async (ctx) => {
          const file = str(ctx.flags, "file");
          const url = str(ctx.flags, "url");
          if (!file === !url) throw usageError("give --file or --url");
          const img = await ctx.pv.createImage({
            name: arg(ctx, 0, "NAME"), ...(ctx.project ? { project: ctx.project } : {}), ...(url ? { url } : {}),
            ...(str(ctx.flags, "kind") ? { kind: str(ctx.flags, "kind") } : {}), ...(str(ctx.flags, "sha256") ? { sha256: str(ctx.flags, "sha256") } : {}),
            ...(str(ctx.flags, "initrd") ? { initrd: await imageId(ctx, str(ctx.flags, "initrd")!) } : {}), ...(str(ctx.flags, "cmdline") ? { cmdline: str(ctx.flags, "cmdline") } : {}),
          });
          if (file) {
            ctx.io.stderr(`uploading ${file} (${statSync(file).size} bytes)\n`);
            return ctx.pv.uploadImage(img.id, Bun.file(file));
          }
          if (!ctx.flags.wait) return img;
          const done = await ctx.pv.waitForImage(img.id, 3_600_000, (i) => ctx.io.stderr(`${i.name}: ${i.bytes}${i.totalBytes ? `/${i.totalBytes}` : ""} bytes\n`));
          if (done.state === "ERROR") throw PlasmavmcErrors.InvalidImage(`image ${done.name} failed: ${done.error}`, { details: { id: done.id } });
          return done;
        },
      },
      list: { usage: "list", run: async (ctx) => (await ctx.pv.listImages(ctx.project)).items },
      get: { usage: "get NAME|ID", run: async (ctx) => ctx.pv.getImage(await imageId(ctx, arg(ctx, 0, "NAME|ID"))) },
      delete: { usage: "delete NAME|ID", run: async (ctx) => ctx.pv.deleteImage(await imageId(ctx, arg(ctx, 0, "NAME|ID"))) },
    },
  },
};

/** The resource names these commands serve (for cli/photon.ts). */
export const PLASMAVMC_RESOURCE_COMMANDS = Object.keys(resources);

/** plasmavmc's URL: `--plasmavmc-url`, else the running node's status, else the configured port on loopback. */
export function findPlasmavmcUrl(flags: { "plasmavmc-url"?: string; "data-dir"?: string }): Promise<string> {
  return findComponentUrl({ component: "plasmavmc", endpoint: "http", flag: flags["plasmavmc-url"], dataDir: flags["data-dir"], configuredPort: (c) => c.plasmavmc.http_port });
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.join(",");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function table(rows: Row[], columns: string[]): string {
  const data = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...data.map((r) => r[i]!.length)));
  return data.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n") + "\n";
}

/** Runs `photon vm|flavor|image|volume <verb> ...`; resolves to the exit code. */
export async function runPlasmavmcResource(name: string, argv: string[], io: CommandIo = processIo): Promise<number> {
  const r = resources[name]!;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        output: { type: "string", short: "o" },
        "plasmavmc-url": { type: "string" }, "novanet-url": { type: "string" }, "iam-url": { type: "string" }, "data-dir": { type: "string" },
        project: { type: "string" }, wait: { type: "boolean" },
        flavor: { type: "string" }, image: { type: "string" }, subnet: { type: "string" }, port: { type: "string", multiple: true },
        "user-data": { type: "string" }, "ssh-key": { type: "string", multiple: true }, "deadline-ms": { type: "string" },
        vcpus: { type: "string" }, "memory-mib": { type: "string" }, "disk-gib": { type: "string" },
        machine: { type: "string" }, "size-gib": { type: "string" }, snapshot: { type: "string" }, vm: { type: "string" },
        file: { type: "string" }, url: { type: "string" }, kind: { type: "string" }, sha256: { type: "string" }, initrd: { type: "string" }, cmdline: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return reportError(io, usageError((e as Error).message));
  }
  const [verbName, ...args] = parsed.positionals;
  if (parsed.values.help || verbName === undefined || verbName === "help") {
    io.stdout(`usage: photon ${name} <verb> [args] [--project P] [-o json] [--plasmavmc-url URL]\n\nverbs:\n${Object.values(r.verbs).map((v) => `  photon ${name} ${v.usage}`).join("\n")}\n`);
    return verbName === undefined && !parsed.values.help ? 2 : 0;
  }
  const verb = Object.hasOwn(r.verbs, verbName) ? r.verbs[verbName] : undefined;
  if (!verb) return reportError(io, usageError(`unknown verb "${verbName}" for ${name}; verbs: ${Object.keys(r.verbs).join(", ")}`));
  try {
    const { login } = await sessionClient(parsed.values);
    const pv = new PlasmavmcClient(await findPlasmavmcUrl(parsed.values), login.accessToken);
    const nn = async () => new NovanetClient(await findNovanetUrl(parsed.values), login.accessToken);
    const out = await verb.run({ pv, token: login.accessToken, nn, project: parsed.values.project ?? login.project, flags: parsed.values, args, io });
    if (out === undefined) return 0;
    if (parsed.values.output === "json") io.stdout(JSON.stringify(out ?? {}, null, 2) + "\n");
    else if (Array.isArray(out)) io.stdout(table(out as Row[], r.columns));
    else if (out && typeof out === "object" && Object.keys(out).length > 0) {
      for (const [k, v] of Object.entries(out)) io.stdout(`${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}\n`);
    }
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
