/**
 * `photon org|project|user|group|role|binding|credential|accesskey <verb> [args] [--flags]`:
 * iam's resources from the command line, through the saved login (`photon login`). Names or ids
 * are accepted wherever a resource is named; `--org`/`--project` pick the scope; `-o json` prints
 * the API's JSON (lists as arrays) for scripts. Secrets (credential and access-key secrets) are
 * printed once, when created.
 */
import { parseArgs } from "node:util";
import { PhotonError } from "../../lib/errors.ts";
import type { IamClient } from "../../services/iam/client.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";
import { sessionClient, type SavedLogin } from "./iam-session.ts";

type Row = Record<string, unknown>;
type Flags = Record<string, string | boolean | string[] | undefined>;

interface Ctx {
  client: IamClient;
  login: SavedLogin;
  flags: Flags;
  args: string[];
}

interface Verb {
  usage: string;
  run(ctx: Ctx): Promise<unknown>;
}

interface Resource {
  path: string;
  columns: string[];
  verbs: Record<string, Verb>;
}

const q = (params: Record<string, string | undefined>) => {
  const s = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return s ? `?${s}` : "";
};
const str = (f: Flags, k: string) => (typeof f[k] === "string" ? (f[k] as string) : undefined);
const list = (f: Flags, k: string) => (Array.isArray(f[k]) ? (f[k] as string[]) : undefined);

function arg(ctx: Ctx, i: number, what: string): string {
  const v = ctx.args[i];
  if (v === undefined) throw usageError(`missing ${what}`);
  return v;
}

async function items(ctx: Ctx, path: string): Promise<Row[]> {
  return (await ctx.client.request<{ items: Row[] }>("GET", path)).items;
}

/** An id as given, or the one entity of `path` whose name is `ref`. */
async function resolve(ctx: Ctx, path: string, ref: string, idPrefix: RegExp, what: string): Promise<string> {
  if (idPrefix.test(ref)) return ref;
  const found = (await items(ctx, path)).filter((e) => e.name === ref);
  if (found.length === 1) return found[0]!.id as string;
  if (found.length === 0) throw new PhotonError("IAM:NotFound", `no ${what} named ${JSON.stringify(ref)} that you can see`, { grpc: 5 });
  throw usageError(`several ${what}s are named ${JSON.stringify(ref)}: use an id (${found.map((e) => e.id).join(", ")})`);
}

/** The organisation to act in: --org, else the login's, else the only one the caller sees. */
async function orgOf(ctx: Ctx): Promise<string> {
  const flag = str(ctx.flags, "org");
  if (flag) return resolve(ctx, "/v1/orgs", flag, /^org_/, "organisation");
  if (ctx.login.org) return ctx.login.org;
  const orgs = await items(ctx, "/v1/orgs");
  if (orgs.length === 1) return orgs[0]!.id as string;
  throw usageError(`pick the organisation with --org (you can see ${orgs.length})`);
}

async function orgFilter(ctx: Ctx): Promise<string | undefined> {
  const flag = str(ctx.flags, "org");
  return flag ? resolve(ctx, "/v1/orgs", flag, /^org_/, "organisation") : undefined;
}

async function projectOf(ctx: Ctx, ref: string | undefined = str(ctx.flags, "project") ?? ctx.login.project): Promise<string> {
  if (!ref) throw usageError("pick the project with --project");
  const org = await orgFilter(ctx);
  return resolve(ctx, `/v1/projects${q({ org })}`, ref, /^prj_/, "project");
}

async function principalOf(ctx: Ctx, ref: string): Promise<string> {
  if (/^(usr|sa|grp)_/.test(ref)) return ref;
  return resolve(ctx, "/v1/users", ref, /^usr_/, "user");
}

async function readPassword(ctx: Ctx): Promise<string | undefined> {
  if (!ctx.flags["password-stdin"]) return undefined;
  return (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, "");
}

function durationMs(v: string): number {
  const m = /^(\d+)([smhd])$/.exec(v);
  if (!m) throw usageError(`bad duration ${JSON.stringify(v)}: use e.g. 90d, 12h, 30m`);
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as "s" | "m" | "h" | "d"];
}

/** get, list and delete, the same for every resource with names. */
function crud(path: string, idPrefix: RegExp, what: string, listQuery: (ctx: Ctx) => Promise<string> = async () => ""): Record<string, Verb> {
  return {
    list: { usage: "list", run: async (ctx) => items(ctx, `${path}${await listQuery(ctx)}`) },
    get: { usage: "get NAME|ID", run: async (ctx) => ctx.client.request("GET", `${path}/${await resolve(ctx, path, arg(ctx, 0, what), idPrefix, what)}`) },
    delete: { usage: "delete NAME|ID", run: async (ctx) => ctx.client.request("DELETE", `${path}/${await resolve(ctx, path, arg(ctx, 0, what), idPrefix, what)}`) },
  };
}

const resources: Record<string, Resource> = {
  org: {
    path: "/v1/orgs",
    columns: ["id", "name", "displayName"],
    verbs: {
      create: { usage: "create NAME [--display-name TEXT]", run: (ctx) => ctx.client.request("POST", "/v1/orgs", { name: arg(ctx, 0, "NAME"), ...(str(ctx.flags, "display-name") ? { displayName: str(ctx.flags, "display-name") } : {}) }) },
      ...crud("/v1/orgs", /^org_/, "organisation"),
    },
  },
  project: {
    path: "/v1/projects",
    columns: ["id", "name", "org", "parent"],
    verbs: {
      create: {
        usage: "create NAME [--org ORG] [--parent PROJECT]",
        run: async (ctx) => {
          const org = await orgOf(ctx);
          const parentRef = str(ctx.flags, "parent");
          const parent = parentRef ? await resolve(ctx, `/v1/projects${q({ org })}`, parentRef, /^prj_/, "project") : undefined;
          return ctx.client.request("POST", "/v1/projects", { org, name: arg(ctx, 0, "NAME"), ...(parent ? { parent } : {}) });
        },
      },
      ...crud("/v1/projects", /^prj_/, "project", async (ctx) => q({ org: await orgFilter(ctx) })),
    },
  },
  user: {
    path: "/v1/users",
    columns: ["id", "name", "org", "disabled"],
    verbs: {
      create: {
        usage: "create NAME [--org ORG | --system] [--email ADDR] [--password-stdin]",
        run: async (ctx) => {
          const org = ctx.flags.system ? undefined : await orgOf(ctx);
          const password = await readPassword(ctx);
          return ctx.client.request("POST", "/v1/users", { name: arg(ctx, 0, "NAME"), ...(org ? { org } : {}), ...(str(ctx.flags, "email") ? { email: str(ctx.flags, "email") } : {}), ...(password ? { password } : {}) });
        },
      },
      passwd: {
        usage: "passwd NAME|ID --password-stdin   (stdin: the new password; for yourself: the current one, then the new one, one per line)",
        run: async (ctx) => {
          const lines = (await readPassword(ctx))?.split(/\r?\n/);
          if (!lines?.[0]) throw usageError("give the password on stdin with --password-stdin");
          const id = await resolve(ctx, "/v1/users", arg(ctx, 0, "user"), /^usr_/, "user");
          const self = id === ctx.login.principal;
          if (self && !lines[1]) throw usageError("for your own password give the current one, then the new one, on two lines");
          return ctx.client.request("PATCH", `/v1/users/${id}`, self ? { currentPassword: lines[0], password: lines[1] } : { password: lines[0] });
        },
      },
      disable: { usage: "disable NAME|ID", run: async (ctx) => ctx.client.request("PATCH", `/v1/users/${await resolve(ctx, "/v1/users", arg(ctx, 0, "user"), /^usr_/, "user")}`, { disabled: true }) },
      enable: { usage: "enable NAME|ID", run: async (ctx) => ctx.client.request("PATCH", `/v1/users/${await resolve(ctx, "/v1/users", arg(ctx, 0, "user"), /^usr_/, "user")}`, { disabled: false }) },
      ...crud("/v1/users", /^usr_/, "user", async (ctx) => q({ org: await orgFilter(ctx) })),
    },
  },
  group: {
    path: "/v1/groups",
    columns: ["id", "name", "org", "members"],
    verbs: {
      create: { usage: "create NAME [--org ORG | --system]", run: async (ctx) => ctx.client.request("POST", "/v1/groups", { name: arg(ctx, 0, "NAME"), ...(ctx.flags.system ? {} : { org: await orgOf(ctx) }) }) },
      "add-member": { usage: "add-member GROUP PRINCIPAL", run: async (ctx) => ctx.client.request("POST", `/v1/groups/${await resolve(ctx, "/v1/groups", arg(ctx, 0, "GROUP"), /^grp_/, "group")}/members`, { member: await principalOf(ctx, arg(ctx, 1, "PRINCIPAL")) }) },
      "remove-member": { usage: "remove-member GROUP PRINCIPAL", run: async (ctx) => ctx.client.request("DELETE", `/v1/groups/${await resolve(ctx, "/v1/groups", arg(ctx, 0, "GROUP"), /^grp_/, "group")}/members/${await principalOf(ctx, arg(ctx, 1, "PRINCIPAL"))}`) },
      ...crud("/v1/groups", /^grp_/, "group", async (ctx) => q({ org: await orgFilter(ctx) })),
    },
  },
  role: {
    path: "/v1/roles",
    columns: ["id", "name", "org", "actions"],
    verbs: {
      create: {
        usage: "create NAME --action PATTERN... [--not-action PATTERN...] [--org ORG | --system]",
        run: async (ctx) => ctx.client.request("POST", "/v1/roles", {
          name: arg(ctx, 0, "NAME"),
          actions: list(ctx.flags, "action") ?? [],
          ...(list(ctx.flags, "not-action") ? { notActions: list(ctx.flags, "not-action") } : {}),
          ...(ctx.flags.system ? {} : { org: await orgOf(ctx) }),
        }),
      },
      ...crud("/v1/roles", /^rol_/, "role", async (ctx) => q({ org: await orgFilter(ctx) })),
    },
  },
  binding: {
    path: "/v1/bindings",
    columns: ["id", "principal", "role", "scope"],
    verbs: {
      create: {
        usage: "create --principal PRINCIPAL --role ROLE (--project P | --org O | --system)",
        run: async (ctx) => {
          const principal = await principalOf(ctx, str(ctx.flags, "principal") ?? arg(ctx, 0, "--principal"));
          const role = str(ctx.flags, "role");
          if (!role) throw usageError("give --role (admin, member, reader, <service>.admin..., or a custom role id)");
          const scope = ctx.flags.system ? { kind: "system" } : str(ctx.flags, "project") ? { kind: "project", id: await projectOf(ctx) } : { kind: "org", id: await orgOf(ctx) };
          return ctx.client.request("POST", "/v1/bindings", { principal, role, scope });
        },
      },
      list: { usage: "list [--principal P]", run: async (ctx) => items(ctx, `/v1/bindings${q({ principal: str(ctx.flags, "principal") ? await principalOf(ctx, str(ctx.flags, "principal")!) : undefined })}`) },
      get: { usage: "get ID", run: (ctx) => ctx.client.request("GET", `/v1/bindings/${arg(ctx, 0, "ID")}`) },
      delete: { usage: "delete ID", run: (ctx) => ctx.client.request("DELETE", `/v1/bindings/${arg(ctx, 0, "ID")}`) },
    },
  },
  credential: {
    path: "/v1/credentials",
    columns: ["id", "name", "serviceAccount", "expiresAt"],
    verbs: {
      create: {
        usage: "create NAME --service-account SA [--expires-in 90d] [--rule PATTERN...]",
        run: async (ctx) => {
          const saRef = str(ctx.flags, "service-account");
          if (!saRef) throw usageError("give --service-account");
          const sa = /^sa_/.test(saRef) ? saRef : await resolve(ctx, `/v1/serviceaccounts${q({ project: str(ctx.flags, "project") ? await projectOf(ctx) : undefined })}`, saRef, /^sa_/, "service account");
          return ctx.client.request("POST", "/v1/credentials", {
            serviceAccount: sa,
            name: arg(ctx, 0, "NAME"),
            expiresAt: Date.now() + durationMs(str(ctx.flags, "expires-in") ?? "90d"),
            ...(list(ctx.flags, "rule") ? { accessRules: list(ctx.flags, "rule") } : {}),
          });
        },
      },
      list: { usage: "list [--service-account SA]", run: (ctx) => items(ctx, `/v1/credentials${q({ serviceAccount: str(ctx.flags, "service-account") })}`) },
      get: { usage: "get ID", run: (ctx) => ctx.client.request("GET", `/v1/credentials/${arg(ctx, 0, "ID")}`) },
      delete: { usage: "delete ID", run: (ctx) => ctx.client.request("DELETE", `/v1/credentials/${arg(ctx, 0, "ID")}`) },
    },
  },
  accesskey: {
    path: "/v1/accesskeys",
    columns: ["accessKeyId", "principal", "disabled", "expiresAt"],
    verbs: {
      create: {
        usage: "create [--principal P] [--project P (where S3 requests with it act)]",
        run: async (ctx) =>
          ctx.client.request("POST", "/v1/accesskeys", {
            ...(str(ctx.flags, "principal") ? { principal: await principalOf(ctx, str(ctx.flags, "principal")!) } : {}),
            ...(str(ctx.flags, "project") ? { project: await projectOf(ctx) } : {}),
          }),
      },
      list: { usage: "list [--principal P]", run: async (ctx) => items(ctx, `/v1/accesskeys${q({ principal: str(ctx.flags, "principal") ? await principalOf(ctx, str(ctx.flags, "principal")!) : undefined })}`) },
      get: { usage: "get ID", run: (ctx) => ctx.client.request("GET", `/v1/accesskeys/${arg(ctx, 0, "ID")}`) },
      disable: { usage: "disable ID", run: (ctx) => ctx.client.request("PATCH", `/v1/accesskeys/${arg(ctx, 0, "ID")}`, { disabled: true }) },
      enable: { usage: "enable ID", run: (ctx) => ctx.client.request("PATCH", `/v1/accesskeys/${arg(ctx, 0, "ID")}`, { disabled: false }) },
      delete: { usage: "delete ID", run: (ctx) => ctx.client.request("DELETE", `/v1/accesskeys/${arg(ctx, 0, "ID")}`) },
    },
  },
};

/** The resource names these commands serve (for cli/photon.ts). */
export const IAM_RESOURCE_COMMANDS = Object.keys(resources);

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
  return `usage: photon ${name} <verb> [args] [-o json] [--iam-url URL]\n\nverbs:\n${Object.values(r.verbs).map((v) => `  photon ${name} ${v.usage}`).join("\n")}\n`;
}

/** Runs `photon <resource> <verb> ...`; resolves to the exit code. */
export async function runResource(name: string, argv: string[], io: CommandIo = processIo): Promise<number> {
  const r = resources[name]!;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: "string", short: "o" },
        "iam-url": { type: "string" },
        org: { type: "string" },
        project: { type: "string" },
        parent: { type: "string" },
        system: { type: "boolean" },
        principal: { type: "string" },
        role: { type: "string" },
        action: { type: "string", multiple: true },
        "not-action": { type: "string", multiple: true },
        rule: { type: "string", multiple: true },
        "service-account": { type: "string" },
        "expires-in": { type: "string" },
        "display-name": { type: "string" },
        email: { type: "string" },
        "password-stdin": { type: "boolean" },
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
    const { client, login } = await sessionClient(parsed.values);
    const out = await verb.run({ client, login, flags: parsed.values, args });
    if (parsed.values.output === "json") io.stdout(JSON.stringify(out ?? {}, null, 2) + "\n");
    else if (Array.isArray(out)) io.stdout(table(out as Row[], r.columns));
    else if (out && typeof out === "object" && Object.keys(out).length > 0) {
      for (const [k, v] of Object.entries(out)) io.stdout(`${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}\n`);
      if ("secret" in out || "secretAccessKey" in out) io.stderr("photon: the secret above is shown once; store it now\n");
    }
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
