/**
 * Conditions on bindings and denies: source CIDRs, a time window, resource tags. Every clause
 * present must hold. When the request lacks what a clause needs (no source address, a malformed
 * one), the clause is *unknown*: an allow with an unknown clause does not apply (fail closed) and
 * a deny with one does (fail closed again), so missing context never widens access.
 */
import { parseCidr, parseIp, type Cidr } from "./cidr.ts";
import { AuthzErrors } from "./errors.ts";
import type { Condition, RequestContext, ResourceRef, TimeWindow } from "./types.ts";

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}$/;
const MAX_CIDRS = 64;
const MAX_TAGS = 32;

/** The request facts a condition reads, resolved at most once per decision. */
export class EvalContext {
  private ip: bigint | null | undefined;
  private ms: number | undefined;
  constructor(
    readonly resource: ResourceRef,
    private readonly context: RequestContext | undefined,
  ) {}
  /** The source address, or null when absent or malformed. */
  sourceIp(): bigint | null {
    if (this.ip === undefined) {
      const text = this.context?.sourceIp;
      this.ip = text === undefined ? null : (parseIp(text) ?? null);
    }
    return this.ip;
  }
  /** Decision time in epoch milliseconds (now when the request has none). */
  timeMs(): number {
    if (this.ms === undefined) {
      const t = this.context?.time;
      this.ms = t === undefined ? Date.now() : typeof t === "number" ? t : t.getTime();
    }
    return this.ms;
  }
}

/** A compiled condition: true (holds), false (does not) or undefined (unknown: context missing). */
export type CompiledCondition = (ctx: EvalContext) => boolean | undefined;

function invalid(message: string, details: Record<string, unknown>): never {
  throw AuthzErrors.InvalidCondition(message, { details });
}

function parseInstant(text: unknown, field: string): number {
  const ms = typeof text === "string" && /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) invalid(`condition time.${field} must be an ISO 8601 instant, got ${JSON.stringify(text)}`, { field });
  return ms;
}

function parseMinutes(text: unknown, field: string): number {
  const m = typeof text === "string" ? HHMM.exec(text) : null;
  if (!m) invalid(`condition time.daily.${field} must be HH:MM (UTC), got ${JSON.stringify(text)}`, { field });
  return Number(m[1]) * 60 + Number(m[2]);
}

function compileTime(w: TimeWindow): CompiledCondition {
  if (typeof w !== "object" || w === null) invalid("condition time must be an object", { field: "time" });
  const known = new Set(["notBefore", "notAfter", "daily", "days"]);
  for (const k of Object.keys(w)) if (!known.has(k)) invalid(`unknown field time.${k} in condition`, { field: k });
  const from = w.notBefore === undefined ? -Infinity : parseInstant(w.notBefore, "notBefore");
  const until = w.notAfter === undefined ? Infinity : parseInstant(w.notAfter, "notAfter");
  if (from >= until) invalid("condition time.notBefore must be before time.notAfter", { field: "notAfter" });
  let start = -1;
  let end = -1;
  if (w.daily !== undefined) {
    start = parseMinutes(w.daily?.start, "start");
    end = parseMinutes(w.daily?.end, "end");
    if (start === end) invalid("condition time.daily must not be empty (start equals end)", { field: "daily" });
  }
  let dayMask = 0x7f;
  if (w.days !== undefined) {
    if (!Array.isArray(w.days) || w.days.length === 0) invalid("condition time.days must be a non-empty list of 0..6", { field: "days" });
    dayMask = 0;
    for (const d of w.days) {
      if (!Number.isInteger(d) || d < 0 || d > 6) invalid(`condition time.days: ${JSON.stringify(d)} is not a day 0..6 (0 = Sunday)`, { field: "days" });
      dayMask |= 1 << d;
    }
  }
  return (ctx) => {
    const t = ctx.timeMs();
    if (t < from || t >= until) return false;
    if (start >= 0 || dayMask !== 0x7f) {
      const d = new Date(t);
      if ((dayMask & (1 << d.getUTCDay())) === 0) return false;
      if (start >= 0) {
        const m = d.getUTCHours() * 60 + d.getUTCMinutes();
        return start < end ? m >= start && m < end : m >= start || m < end;
      }
    }
    return true;
  };
}

function compileCidrs(cidrs: readonly string[]): CompiledCondition {
  if (!Array.isArray(cidrs) || cidrs.length === 0 || cidrs.length > MAX_CIDRS) {
    invalid(`condition sourceCidrs must list 1..${MAX_CIDRS} CIDRs`, { field: "sourceCidrs" });
  }
  const blocks: Cidr[] = cidrs.map(parseCidr);
  return (ctx) => {
    const ip = ctx.sourceIp();
    if (ip === null) return undefined;
    for (const b of blocks) if (b.contains(ip)) return true;
    return false;
  };
}

function compileTags(tags: Readonly<Record<string, string>>): CompiledCondition {
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) invalid("condition resourceTags must be an object", { field: "resourceTags" });
  const entries = Object.entries(tags);
  if (entries.length === 0 || entries.length > MAX_TAGS) invalid(`condition resourceTags must have 1..${MAX_TAGS} tags`, { field: "resourceTags" });
  for (const [k, v] of entries) {
    if (!TAG_KEY.test(k)) invalid(`condition resourceTags: invalid tag key ${JSON.stringify(k)}`, { field: "resourceTags", key: k });
    if (typeof v !== "string" || v.length === 0 || v.length > 256) invalid(`condition resourceTags.${k} must be a non-empty string of at most 256 characters`, { field: "resourceTags", key: k });
  }
  return (ctx) => {
    const have = ctx.resource.tags;
    if (!have) return false;
    for (const [k, v] of entries) {
      if (!Object.hasOwn(have, k)) return false;
      if (v !== "*" && have[k] !== v) return false;
    }
    return true;
  };
}

/**
 * Validates a condition and compiles it. Unknown fields are refused; an empty condition is
 * refused (omit it instead).
 * @throws IAM:InvalidCondition naming the field.
 */
export function compileCondition(condition: Condition): CompiledCondition {
  if (typeof condition !== "object" || condition === null || Array.isArray(condition)) invalid("condition must be an object", {});
  const parts: CompiledCondition[] = [];
  for (const key of Object.keys(condition)) {
    if (key === "sourceCidrs") parts.push(compileCidrs(condition.sourceCidrs!));
    else if (key === "time") parts.push(compileTime(condition.time!));
    else if (key === "resourceTags") parts.push(compileTags(condition.resourceTags!));
    else invalid(`unknown condition field ${JSON.stringify(key)} (expected sourceCidrs, time, resourceTags)`, { field: key });
  }
  if (parts.length === 0) invalid("condition is empty: omit it instead", {});
  return (ctx) => {
    let unknown = false;
    for (const p of parts) {
      const r = p(ctx);
      if (r === false) return false;
      if (r === undefined) unknown = true;
    }
    return unknown ? undefined : true;
  };
}

/**
 * Checks a condition without keeping the compiled form (iam's model validates with it).
 * @throws IAM:InvalidCondition naming the field.
 */
export function validateCondition(condition: Condition): void {
  compileCondition(condition);
}
