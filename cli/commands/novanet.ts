/**
 * `photon vpc|subnet|port|secgroup|router|fip <verb> [args] [--flags]`: novanet's resources from
 * the command line, through the saved login (`photon login`) and services/novanet/client.ts.
 * Names or ids are accepted wherever a resource is named (names are looked up in the project);
 * `--project` picks the project (default: the login's); `-o json` prints the API's JSON (lists
 * as arrays). novanet is found at `--novanet-url`, else through the running node's status
 * (`--data-dir`), else on the configured port on loopback.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PhotonError } from "../../lib/errors.ts";
import { NovanetClient } from "../../services/novanet/client.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";
import { sessionClient } from "./iam-session.ts";
import { findComponentUrl } from "../component-url.ts";

type Row = Record<string, unknown>;
type Flags = Record<string, string | boolean | string[] | undefined>;

interface Ctx {
  nn: NovanetClient;
  project: string | undefined;
  flags: Flags;
  args: string[];
}

interface Verb {
  usage: string;
  run(ctx: Ctx): Promise<unknown>;
}

interface Resource {
  /** The REST collection (`/v1/vpcs`). */
  path: string;
  prefix: string;
  columns: string[];
  verbs: Record<string, Verb>;
}

const str = (f: Flags, k: string) => (typeof f[k] === "string" ? (f[k] as string) : undefined);
const many = (f: Flags, k: string) => (Array.isArray(f[k]) ? (f[k] as string[]) : undefined);
const qs = (p: Record<string, string | undefined>) => {
  const s = new URLSearchParams(Object.entries(p).filter((e): e is [string, string] => !!e[1])).toString();
  return s ? `?${s}` : "";
};

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

/** An id as given, or the one resource of `path` in the project named `ref`. */
async function resolve(ctx: Ctx, path: string, prefix: string, ref: string, what: string): Promise<string> {
  if (ref.startsWith(prefix)) return ref;
  const items = (await ctx.nn.request<{ items: Row[] }>("GET", `${path}${qs({ project: ctx.project })}`)).items.filter((e) => e.name === ref);
  if (items.length === 1) return items[0]!.id as string;
  if (items.length === 0) throw new PhotonError("NOVANET:NotFound", `no ${what} named ${JSON.stringify(ref)} in the project`, { grpc: 5 });
  throw usageError(`several ${what}s are named ${JSON.stringify(ref)}: use an id (${items.map((e) => e.id).join(", ")})`);
}

const ref = (r: keyof typeof resources) => (ctx: Ctx, v: string) => resolve(ctx, resources[r]!.path, resources[r]!.prefix, v, r);

function basic(r: string): Record<string, Verb> {
  return {
    list: { usage: "list", run: async (ctx) => (await ctx.nn.request<{ items: Row[] }>("GET", `${resources[r]!.path}${qs({ project: ctx.project })}`)).items },
    get: { usage: "get NAME|ID", run: async (ctx) => ctx.nn.request("GET", `${resources[r]!.path}/${await resolve(ctx, resources[r]!.path, resources[r]!.prefix, arg(ctx, 0, "NAME|ID"), r)}`) },
    delete: { usage: "delete NAME|ID", run: async (ctx) => ctx.nn.request("DELETE", `${resources[r]!.path}/${await resolve(ctx, resources[r]!.path, resources[r]!.prefix, arg(ctx, 0, "NAME|ID"), r)}`) },
  };
}

const resources: Record<string, Resource> = {
  vpc: {
    path: "/v1/vpcs", prefix: "vpc_", columns: ["id", "name", "cidr", "vni"],
    verbs: {
      create: { usage: "create NAME --cidr CIDR", run: (ctx) => ctx.nn.createVpc({ name: arg(ctx, 0, "NAME"), cidr: str(ctx.flags, "cidr") ?? "", ...(ctx.project ? { project: ctx.project } : {}) }) },
      ...basic("vpc"),
    },
  },
  subnet: {
    path: "/v1/subnets", prefix: "sn_", columns: ["id", "name", "vpc", "cidr", "gatewayIp", "dhcp"],
    verbs: {
      create: {
        usage: "create NAME --vpc VPC --cidr CIDR [--gateway IP] [--no-dhcp] [--dns IP...] [--pool START-END...]",
        run: async (ctx) => ctx.nn.createSubnet({
          name: arg(ctx, 0, "NAME"),
          vpc: await ref("vpc")(ctx, str(ctx.flags, "vpc") ?? (() => { throw usageError("give --vpc"); })()),
          cidr: str(ctx.flags, "cidr") ?? "",
          ...(str(ctx.flags, "gateway") ? { gatewayIp: str(ctx.flags, "gateway") } : {}),
          ...(ctx.flags["no-dhcp"] ? { dhcp: false } : {}),
          ...(many(ctx.flags, "dns") ? { dnsServers: many(ctx.flags, "dns") } : {}),
          ...(many(ctx.flags, "pool") ? { allocationPools: many(ctx.flags, "pool")!.map((p) => { const [start, end] = p.split("-"); if (!start || !end) throw usageError(`--pool ${p}: use START-END`); return { start, end }; }) } : {}),
        }),
      },
      ...basic("subnet"),
      list: { usage: "list [--vpc VPC]", run: async (ctx) => (await ctx.nn.listSubnets({ ...(ctx.project ? { project: ctx.project } : {}), ...(str(ctx.flags, "vpc") ? { vpc: await ref("vpc")(ctx, str(ctx.flags, "vpc")!) } : {}) })).items },
    },
  },
  port: {
    path: "/v1/ports", prefix: "port_", columns: ["id", "name", "subnet", "fixedIps", "mac", "host"],
    verbs: {
      create: {
        usage: "create [NAME] --subnet SUBNET [--ip IP...] [--mac MAC] [--secgroup SG...] [--host HOST] [--netns NS] [--no-port-security]",
        run: async (ctx) => ctx.nn.createPort({
          ...(ctx.args[0] ? { name: ctx.args[0] } : {}),
          subnet: await ref("subnet")(ctx, str(ctx.flags, "subnet") ?? (() => { throw usageError("give --subnet"); })()),
          ...(many(ctx.flags, "ip") ? { fixedIps: many(ctx.flags, "ip") } : {}),
          ...(str(ctx.flags, "mac") ? { mac: str(ctx.flags, "mac") } : {}),
          ...(many(ctx.flags, "secgroup") ? { securityGroups: await Promise.all(many(ctx.flags, "secgroup")!.map((g) => ref("secgroup")(ctx, g))) } : {}),
          ...(str(ctx.flags, "host") ? { host: str(ctx.flags, "host") } : {}),
          ...(str(ctx.flags, "netns") ? { netns: str(ctx.flags, "netns") } : {}),
          ...(ctx.flags["no-port-security"] ? { portSecurity: false } : {}),
        }),
      },
      update: {
        usage: "update NAME|ID [--host HOST] [--netns NS] [--secgroup SG...]",
        run: async (ctx) => ctx.nn.updatePort({
          id: await ref("port")(ctx, arg(ctx, 0, "NAME|ID")),
          ...(str(ctx.flags, "host") !== undefined ? { host: str(ctx.flags, "host") } : {}),
          ...(str(ctx.flags, "netns") !== undefined ? { netns: str(ctx.flags, "netns") } : {}),
          ...(many(ctx.flags, "secgroup") ? { securityGroups: await Promise.all(many(ctx.flags, "secgroup")!.map((g) => ref("secgroup")(ctx, g))) } : {}),
        }),
      },
      ...basic("port"),
      list: { usage: "list [--host HOST]", run: async (ctx) => (await ctx.nn.listPorts({ ...(ctx.project ? { project: ctx.project } : {}), ...(str(ctx.flags, "host") ? { host: str(ctx.flags, "host") } : {}) })).items },
    },
  },
  secgroup: {
    path: "/v1/secgroups", prefix: "sg_", columns: ["id", "name", "isDefault", "description"],
    verbs: {
      create: { usage: "create NAME [--description TEXT]", run: (ctx) => ctx.nn.createSecGroup({ name: arg(ctx, 0, "NAME"), ...(str(ctx.flags, "description") ? { description: str(ctx.flags, "description") } : {}), ...(ctx.project ? { project: ctx.project } : {}) }) },
      ...basic("secgroup"),
      "rule-add": {
        usage: "rule-add SG --direction ingress|egress [--protocol tcp|udp|icmp|N] [--port P[-Q]] [--icmp-type T] [--icmp-code C] [--remote-cidr CIDR | --remote-group SG] [--ethertype ipv6]",
        run: async (ctx) => {
          const sg = await ref("secgroup")(ctx, arg(ctx, 0, "SG"));
          const port = str(ctx.flags, "port");
          const [pmin, pmax] = port ? port.split("-") : [];
          return ctx.nn.createRule(sg, {
            direction: str(ctx.flags, "direction") ?? "",
            ...(str(ctx.flags, "ethertype") ? { ethertype: str(ctx.flags, "ethertype") } : {}),
            ...(str(ctx.flags, "protocol") ? { protocol: str(ctx.flags, "protocol") } : {}),
            ...(pmin !== undefined ? { portMin: int(pmin, "--port") } : {}),
            ...(pmax !== undefined ? { portMax: int(pmax, "--port") } : {}),
            ...(str(ctx.flags, "icmp-type") ? { icmpType: int(str(ctx.flags, "icmp-type"), "--icmp-type") } : {}),
            ...(str(ctx.flags, "icmp-code") ? { icmpCode: int(str(ctx.flags, "icmp-code"), "--icmp-code") } : {}),
            ...(str(ctx.flags, "remote-cidr") ? { remoteCidr: str(ctx.flags, "remote-cidr") } : {}),
            ...(str(ctx.flags, "remote-group") ? { remoteGroup: await ref("secgroup")(ctx, str(ctx.flags, "remote-group")!) } : {}),
          });
        },
      },
      "rule-delete": { usage: "rule-delete SG RULE_ID", run: async (ctx) => ctx.nn.deleteRule(await ref("secgroup")(ctx, arg(ctx, 0, "SG")), arg(ctx, 1, "RULE_ID")) },
    },
  },
  router: {
    path: "/v1/routers", prefix: "rtr_", columns: ["id", "name", "vpc", "subnets", "externalGateway"],
    verbs: {
      create: {
        usage: "create [NAME] --vpc VPC [--external] [--no-snat] [--subnet SUBNET...]",
        run: async (ctx) => ctx.nn.createRouter({
          ...(ctx.args[0] ? { name: ctx.args[0] } : {}),
          vpc: await ref("vpc")(ctx, str(ctx.flags, "vpc") ?? (() => { throw usageError("give --vpc"); })()),
          ...(ctx.flags.external ? { external: true } : {}),
          ...(ctx.flags["no-snat"] ? { snat: false } : {}),
          ...(many(ctx.flags, "subnet") ? { subnets: await Promise.all(many(ctx.flags, "subnet")!.map((s) => ref("subnet")(ctx, s))) } : {}),
        }),
      },
      ...basic("router"),
      "add-subnet": { usage: "add-subnet ROUTER SUBNET", run: async (ctx) => ctx.nn.updateRouter(await ref("router")(ctx, arg(ctx, 0, "ROUTER")), { addSubnets: [await ref("subnet")(ctx, arg(ctx, 1, "SUBNET"))] }) },
      "remove-subnet": { usage: "remove-subnet ROUTER SUBNET", run: async (ctx) => ctx.nn.updateRouter(await ref("router")(ctx, arg(ctx, 0, "ROUTER")), { removeSubnets: [await ref("subnet")(ctx, arg(ctx, 1, "SUBNET"))] }) },
    },
  },
  fip: {
    path: "/v1/fips", prefix: "fip_", columns: ["id", "ip", "port", "fixedIp"],
    verbs: {
      create: { usage: "create [NAME] [--port PORT]", run: async (ctx) => ctx.nn.createFip({ ...(ctx.args[0] ? { name: ctx.args[0] } : {}), ...(ctx.project ? { project: ctx.project } : {}), ...(str(ctx.flags, "port") ? { port: await ref("port")(ctx, str(ctx.flags, "port")!) } : {}) }) },
      ...basic("fip"),
      associate: { usage: "associate FIP PORT", run: async (ctx) => ctx.nn.updateFip(await ref("fip")(ctx, arg(ctx, 0, "FIP")), { port: await ref("port")(ctx, arg(ctx, 1, "PORT")) }) },
      dissociate: { usage: "dissociate FIP", run: async (ctx) => ctx.nn.updateFip(await ref("fip")(ctx, arg(ctx, 0, "FIP")), { port: "" }) },
    },
  },
};

/** The resource names these commands serve (for cli/photon.ts). */
export const NOVANET_RESOURCE_COMMANDS = Object.keys(resources);

/** novanet's URL: `--novanet-url`, else the running node's status, else the configured port on loopback. */
export function findNovanetUrl(flags: { "novanet-url"?: string; "data-dir"?: string }): Promise<string> {
  return findComponentUrl({ component: "novanet", endpoint: "http", flag: flags["novanet-url"], dataDir: flags["data-dir"], configuredPort: (c) => c.novanet.http_port });
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.join(",");
  if (typeof v === "object") return Object.values(v as object).join(":");
  return String(v);
}

function table(rows: Row[], columns: string[]): string {
  const data = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...data.map((r) => r[i]!.length)));
  return data.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n") + "\n";
}

function help(name: string, r: Resource): string {
  return `usage: photon ${name} <verb> [args] [--project P] [-o json] [--novanet-url URL]\n\nverbs:\n${Object.values(r.verbs).map((v) => `  photon ${name} ${v.usage}`).join("\n")}\n`;
}

/** Runs `photon <resource> <verb> ...`; resolves to the exit code. */
export async function runNovanetResource(name: string, argv: string[], io: CommandIo = processIo): Promise<number> {
  const r = resources[name]!;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: "string", short: "o" },
        "novanet-url": { type: "string" },
        "iam-url": { type: "string" },
        "data-dir": { type: "string" },
        project: { type: "string" },
        cidr: { type: "string" },
        vpc: { type: "string" },
        subnet: { type: "string", multiple: true },
        gateway: { type: "string" },
        "no-dhcp": { type: "boolean" },
        dns: { type: "string", multiple: true },
        pool: { type: "string", multiple: true },
        ip: { type: "string", multiple: true },
        mac: { type: "string" },
        secgroup: { type: "string", multiple: true },
        host: { type: "string" },
        netns: { type: "string" },
        "no-port-security": { type: "boolean" },
        description: { type: "string" },
        direction: { type: "string" },
        ethertype: { type: "string" },
        protocol: { type: "string" },
        port: { type: "string" },
        "icmp-type": { type: "string" },
        "icmp-code": { type: "string" },
        "remote-cidr": { type: "string" },
        "remote-group": { type: "string" },
        external: { type: "boolean" },
        "no-snat": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return reportError(io, usageError((e as Error).message));
  }
  const [verbName, ...args] = parsed.positionals;
  if (parsed.values.help || verbName === undefined || verbName === "help") {
    io.stdout(help(name, r));
    return verbName === undefined && !parsed.values.help ? 2 : 0;
  }
  const verb = Object.hasOwn(r.verbs, verbName) ? r.verbs[verbName] : undefined;
  if (!verb) return reportError(io, usageError(`unknown verb "${verbName}" for ${name}; verbs: ${Object.keys(r.verbs).join(", ")}`));
  try {
    const { login } = await sessionClient(parsed.values);
    const nn = new NovanetClient(await findNovanetUrl(parsed.values), login.accessToken);
    // `--subnet` is repeatable for routers; elsewhere the first one counts.
    const flags: Flags = { ...parsed.values, ...(name !== "router" && parsed.values.subnet ? { subnet: parsed.values.subnet[0] } : {}) };
    const out = await verb.run({ nn, project: parsed.values.project ?? login.project, flags, args });
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
