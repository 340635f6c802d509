/**
 * Bucket policies: the IAM-style JSON document S3 takes (Version, Statement[] of Sid, Effect,
 * Principal, Action/NotAction, Resource, Condition), validated as S3 does (MalformedPolicy), and
 * evaluated here for each request: an explicit Deny that matches refuses the request whatever
 * iam says; an Allow that matches grants it even to a principal of another project (iam alone
 * keeps tenants apart). Principals are iam principal ids (`{"AWS": ["sa_..."]}`) or `*` (any
 * authenticated caller). Conditions: StringEquals/StringNotEquals/StringLike/StringNotLike,
 * IpAddress/NotIpAddress, Bool, on aws:SourceIp, aws:PrincipalId, aws:SecureTransport,
 * s3:prefix, s3:delimiter, s3:max-keys.
 */
import { isIP } from "node:net";
import { S3Errors } from "./errors.ts";

/** One statement after validation. */
export interface PolicyStatement {
  sid?: string;
  effect: "Allow" | "Deny";
  principals: string[];
  actions: string[];
  notActions?: string[];
  resources: string[];
  conditions: { op: string; key: string; values: string[] }[];
}

/** A request as a policy sees it. */
export interface PolicyRequest {
  principal: string;
  /** `s3:GetObject` ... */
  action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  resource: string;
  /** Condition keys (aws:SourceIp, s3:prefix ...). */
  context: Record<string, string | undefined>;
}

const OPS = new Set(["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "IpAddress", "NotIpAddress", "Bool", "StringEqualsIgnoreCase"]);
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const bad = (m: string) => S3Errors.MalformedPolicy(m);

/**
 * Parses and validates a policy for `bucket`.
 * @throws S3:MalformedPolicy.
 */
export function parsePolicy(text: string, bucket: string): PolicyStatement[] {
  if (text.length > 20 * 1024) throw bad("Policies must be at most 20 KB");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad("Policies must be valid JSON and the first byte must be '{'");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad("Policies must be valid JSON and the first byte must be '{'");
  const d = doc as Record<string, unknown>;
  if (d.Version !== undefined && d.Version !== "2012-10-17" && d.Version !== "2008-10-17") throw bad("The policy must contain a valid version string");
  const stmts = list(d.Statement);
  if (stmts.length === 0) throw bad("Could not parse the policy: Statement is empty!");
  return stmts.map((s) => {
    if (typeof s !== "object" || s === null) throw bad("Statement must be an object");
    const st = s as Record<string, unknown>;
    if (st.Effect !== "Allow" && st.Effect !== "Deny") throw bad("Invalid effect: " + String(st.Effect));
    let principals: string[];
    if (st.Principal === "*") principals = ["*"];
    else if (st.Principal && typeof st.Principal === "object" && !Array.isArray(st.Principal)) {
      const p = st.Principal as Record<string, unknown>;
      const keys = Object.keys(p);
      if (keys.some((k) => k !== "AWS")) throw bad("Invalid principal in policy");
      principals = list(p.AWS).map((x) => {
        if (typeof x !== "string" || !x) throw bad("Invalid principal in policy");
        return x;
      });
      if (!principals.length) throw bad("Invalid principal in policy");
    } else throw bad(st.NotPrincipal !== undefined ? "NotPrincipal is not supported" : "Missing required field Principal");
    const actionOf = (x: unknown) => {
      if (typeof x !== "string" || !/^s3:[A-Za-z*?]+$/.test(x) && x !== "*") throw bad("Policy has invalid action");
      return x;
    };
    const actions = list(st.Action).map(actionOf);
    const notActions = st.NotAction !== undefined ? list(st.NotAction).map(actionOf) : undefined;
    if (!actions.length && !notActions?.length) throw bad("Missing required field Action");
    const resources = list(st.Resource).map((x) => {
      if (typeof x !== "string") throw bad("Policy has invalid resource");
      const m = /^arn:aws:s3:::([^/]+)(\/.*)?$/.exec(x);
      if (!m || (m[1] !== bucket && !(m[1]!.includes("*") && glob(m[1]!, bucket)))) throw bad("Policy has invalid resource");
      return x;
    });
    if (!resources.length) throw bad("Missing required field Resource");
    const conditions: PolicyStatement["conditions"] = [];
    if (st.Condition !== undefined) {
      if (typeof st.Condition !== "object" || st.Condition === null) throw bad("Invalid Condition");
      for (const [op, kv] of Object.entries(st.Condition as Record<string, unknown>)) {
        if (!OPS.has(op)) throw bad(`Invalid Condition type : ${op}`);
        if (typeof kv !== "object" || kv === null) throw bad("Invalid Condition");
        for (const [key, vals] of Object.entries(kv as Record<string, unknown>)) {
          const values = list(vals).map(String);
          if (op.endsWith("IpAddress")) for (const v of values) if (!isIP(v.split("/")[0]!)) throw bad(`Invalid IP address: ${v}`);
          conditions.push({ op, key: key.toLowerCase(), values });
        }
      }
    }
    return { ...(typeof st.Sid === "string" ? { sid: st.Sid } : {}), effect: st.Effect, principals, actions, ...(notActions ? { notActions } : {}), resources, conditions };
  });
}

/** `*` and `?` wildcards, case-sensitive. */
function glob(pattern: string, value: string): boolean {
  const re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$", "s");
  return re.test(value);
}

function ipv4ToInt(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip.replace(/^::ffff:/, ""));
  return m ? m.slice(1).reduce((n, o) => n * 256 + Number(o), 0) : undefined;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsRaw] = cidr.split("/");
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(net!);
  if (a === undefined || b === undefined) return ip === net;
  const bits = bitsRaw === undefined ? 32 : Number(bitsRaw);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

function condition(c: PolicyStatement["conditions"][number], ctx: Record<string, string | undefined>): boolean {
  const v = ctx[c.key];
  switch (c.op) {
    case "StringEquals": return v !== undefined && c.values.includes(v);
    case "StringEqualsIgnoreCase": return v !== undefined && c.values.some((x) => x.toLowerCase() === v.toLowerCase());
    case "StringNotEquals": return v === undefined || !c.values.includes(v);
    case "StringLike": return v !== undefined && c.values.some((x) => glob(x, v));
    case "StringNotLike": return v === undefined || !c.values.some((x) => glob(x, v));
    case "IpAddress": return v !== undefined && c.values.some((x) => inCidr(v, x));
    case "NotIpAddress": return v === undefined || !c.values.some((x) => inCidr(v, x));
    case "Bool": return v !== undefined && c.values.includes(v);
    default: return false;
  }
}

/** The policy's verdict: `deny` (an explicit Deny matched), `allow` (an Allow matched), or `none`. */
export function evaluatePolicy(stmts: PolicyStatement[], r: PolicyRequest): "allow" | "deny" | "none" {
  let allowed = false;
  for (const s of stmts) {
    if (!s.principals.some((p) => p === "*" || p === r.principal)) continue;
    const acts = s.notActions ? !s.notActions.some((a) => glob(a.toLowerCase(), r.action.toLowerCase())) : s.actions.some((a) => a === "*" || glob(a.toLowerCase(), r.action.toLowerCase()));
    if (!acts) continue;
    if (!s.resources.some((x) => glob(x, r.resource))) continue;
    if (!s.conditions.every((c) => condition(c, r.context))) continue;
    if (s.effect === "Deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : "none";
}
