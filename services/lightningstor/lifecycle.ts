/**
 * Bucket lifecycle: the `<LifecycleConfiguration>` rules (validated as S3 does) and the sweeper
 * that applies them — expiring current versions after N days or on a date (a delete marker on a
 * versioned bucket), removing noncurrent versions N days after they became noncurrent (keeping the
 * newest `NewerNoncurrentVersions`), removing expired delete markers, and aborting multipart
 * uploads N days after initiation. Days count as S3 counts them: from the event, rounded up to
 * the next midnight UTC. The sweeper reads the service's clock, so tests move time, not wait.
 */
import type { Logger } from "../../lib/log.ts";
import { S3Errors } from "./errors.ts";
import type { LightningstorService } from "./service.ts";
import { asArray } from "./tags.ts";
import type { Bucket, ObjectMeta } from "./types.ts";

/** One rule. */
export interface LifecycleRule {
  id: string;
  enabled: boolean;
  prefix: string;
  tags: Record<string, string>;
  sizeGreaterThan?: number;
  sizeLessThan?: number;
  expirationDays?: number;
  expirationDate?: number;
  expiredObjectDeleteMarker?: boolean;
  noncurrentDays?: number;
  newerNoncurrent?: number;
  abortDays?: number;
}

const DAY = 86_400_000;
const str = (v: unknown): string => (typeof v === "string" ? v : v === undefined ? "" : String(v));

function days(v: unknown, what: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(str(v)) || n < 1) throw S3Errors.InvalidArgument(`'${what}' for the rule must be a positive integer`, { details: { argumentName: what } });
  return n;
}

function tagsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of asArray<Record<string, unknown>>(v)) out[str(t?.Key)] = str(t?.Value);
  return out;
}

/** Rules from a parsed `<LifecycleConfiguration>`. @throws S3:MalformedXML, S3:InvalidArgument, S3:InvalidRequest. */
export function parseLifecycle(doc: Record<string, unknown>): LifecycleRule[] {
  const rules = asArray<Record<string, unknown>>(doc.Rule);
  if (rules.length === 0 || rules.length > 1000) throw S3Errors.MalformedXML("a lifecycle configuration holds 1 to 1000 Rule elements");
  const ids = new Set<string>();
  return rules.map((r, i) => {
    if (typeof r !== "object" || r === null) throw S3Errors.MalformedXML("Rule must be an element");
    const id = r.ID !== undefined ? str(r.ID) : `rule-${i + 1}`;
    if (id.length > 255) throw S3Errors.InvalidArgument("ID length should not exceed allowed limit of 255", { details: { argumentName: "ID" } });
    if (ids.has(id)) throw S3Errors.InvalidArgument("Rule ID must be unique. Found same ID for more than one rule", { details: { argumentName: "ID" } });
    ids.add(id);
    if (r.Status !== "Enabled" && r.Status !== "Disabled") throw S3Errors.MalformedXML("Status must be Enabled or Disabled");
    if (r.Transition !== undefined || r.NoncurrentVersionTransition !== undefined) throw S3Errors.InvalidRequest("transitions are not supported: lightningstor has one storage class (STANDARD)");
    const rule: LifecycleRule = { id, enabled: r.Status === "Enabled", prefix: "", tags: {} };
    if (r.Filter !== undefined && r.Prefix !== undefined) throw S3Errors.MalformedXML("a rule has either Filter or Prefix, not both");
    if (r.Filter === undefined && r.Prefix === undefined) throw S3Errors.MalformedXML("a rule needs a Filter (or the legacy Prefix)");
    if (r.Prefix !== undefined) rule.prefix = str(r.Prefix);
    const f = r.Filter;
    if (f && typeof f === "object") {
      const filter = f as Record<string, unknown>;
      const parts = ["Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan"].filter((k) => filter[k] !== undefined);
      if (parts.length > 1) throw S3Errors.MalformedXML("a Filter holds one condition; combine several with And");
      const src = (filter.And && typeof filter.And === "object" ? filter.And : filter) as Record<string, unknown>;
      rule.prefix = str(src.Prefix);
      rule.tags = tagsOf(src.Tag);
      if (src.ObjectSizeGreaterThan !== undefined) rule.sizeGreaterThan = Number(src.ObjectSizeGreaterThan);
      if (src.ObjectSizeLessThan !== undefined) rule.sizeLessThan = Number(src.ObjectSizeLessThan);
    }
    const e = r.Expiration as Record<string, unknown> | undefined;
    if (e && typeof e === "object") {
      const n = [e.Days, e.Date, e.ExpiredObjectDeleteMarker].filter((x) => x !== undefined).length;
      if (n !== 1) throw S3Errors.MalformedXML("Expiration holds one of Days, Date or ExpiredObjectDeleteMarker");
      if (e.Days !== undefined) rule.expirationDays = days(e.Days, "Days");
      if (e.Date !== undefined) {
        const t = Date.parse(str(e.Date));
        if (Number.isNaN(t) || t % DAY !== 0) throw S3Errors.InvalidArgument("'Date' must be at midnight GMT", { details: { argumentName: "Date" } });
        rule.expirationDate = t;
      }
      if (e.ExpiredObjectDeleteMarker !== undefined) rule.expiredObjectDeleteMarker = str(e.ExpiredObjectDeleteMarker) === "true";
    }
    const nc = r.NoncurrentVersionExpiration as Record<string, unknown> | undefined;
    if (nc && typeof nc === "object") {
      rule.noncurrentDays = days(nc.NoncurrentDays, "NoncurrentDays");
      if (nc.NewerNoncurrentVersions !== undefined) rule.newerNoncurrent = days(nc.NewerNoncurrentVersions, "NewerNoncurrentVersions");
    }
    const ab = r.AbortIncompleteMultipartUpload as Record<string, unknown> | undefined;
    if (ab && typeof ab === "object") {
      if (Object.keys(rule.tags).length) throw S3Errors.InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags");
      rule.abortDays = days(ab.DaysAfterInitiation, "DaysAfterInitiation");
    }
    if (rule.expirationDays === undefined && rule.expirationDate === undefined && rule.expiredObjectDeleteMarker === undefined && rule.noncurrentDays === undefined && rule.abortDays === undefined) {
      throw S3Errors.MalformedXML("a rule needs at least one action");
    }
    return rule;
  });
}

/** The `<LifecycleConfiguration>` body of rules. */
export function lifecycleBody(rules: LifecycleRule[]): Record<string, unknown> {
  return {
    Rule: rules.map((r) => {
      const tags = Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value }));
      const size = { ...(r.sizeGreaterThan !== undefined ? { ObjectSizeGreaterThan: r.sizeGreaterThan } : {}), ...(r.sizeLessThan !== undefined ? { ObjectSizeLessThan: r.sizeLessThan } : {}) };
      const conds = (r.prefix ? 1 : 0) + tags.length + Object.keys(size).length;
      const Filter = conds > 1 ? { And: { ...(r.prefix ? { Prefix: r.prefix } : {}), ...(tags.length ? { Tag: tags } : {}), ...size } } : tags.length ? { Tag: tags[0] } : Object.keys(size).length ? size : { Prefix: r.prefix };
      return {
        ID: r.id,
        Filter,
        Status: r.enabled ? "Enabled" : "Disabled",
        ...(r.expirationDays !== undefined ? { Expiration: { Days: r.expirationDays } } : r.expirationDate !== undefined ? { Expiration: { Date: new Date(r.expirationDate).toISOString() } } : r.expiredObjectDeleteMarker !== undefined ? { Expiration: { ExpiredObjectDeleteMarker: r.expiredObjectDeleteMarker } } : {}),
        ...(r.noncurrentDays !== undefined ? { NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentDays, ...(r.newerNoncurrent !== undefined ? { NewerNoncurrentVersions: r.newerNoncurrent } : {}) } } : {}),
        ...(r.abortDays !== undefined ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortDays } } : {}),
      };
    }),
  };
}

/** `t + n days`, rounded up to the next midnight UTC (S3's rule). */
export const dueAt = (t: number, n: number): number => Math.ceil((t + n * DAY) / DAY) * DAY;

function matches(r: LifecycleRule, o: ObjectMeta): boolean {
  if (!o.key.startsWith(r.prefix)) return false;
  for (const [k, v] of Object.entries(r.tags)) if (o.tags?.[k] !== v) return false;
  if (r.sizeGreaterThan !== undefined && !(o.size > r.sizeGreaterThan)) return false;
  if (r.sizeLessThan !== undefined && !(o.size < r.sizeLessThan)) return false;
  return true;
}

/** What one sweep did. */
export interface SweepResult {
  expired: number;
  noncurrentRemoved: number;
  markersRemoved: number;
  uploadsAborted: number;
}

/** Applies every bucket's lifecycle rules once, at the service's `now()`. */
export async function sweepLifecycle(svc: LightningstorService, logger?: Logger): Promise<SweepResult> {
  const res: SweepResult = { expired: 0, noncurrentRemoved: 0, markersRemoved: 0, uploadsAborted: 0 };
  for (const b of await svc.registry.list()) {
    const text = svc.store.getConfig(b.id, "lifecycle");
    if (!text) continue;
    const rules = (JSON.parse(text) as LifecycleRule[]).filter((r) => r.enabled);
    try {
      sweepBucket(svc, b, rules, res);
    } catch (e) {
      logger?.error("lifecycle sweep of a bucket failed", { bucket: b.name, error: e });
    }
  }
  return res;
}

const SWEEPER: { principal: string; kind: "serviceaccount"; token: string; expiresAt: number } = { principal: "lightningstor-lifecycle", kind: "serviceaccount", token: "", expiresAt: Number.MAX_SAFE_INTEGER };

function sweepBucket(svc: LightningstorService, b: Bucket, rules: LifecycleRule[], res: SweepResult): void {
  const now = svc.now();
  const versioned = svc.versioning(b) !== "";
  for (const r of rules) {
    if (r.abortDays !== undefined) {
      for (const u of svc.listUploads(b)) {
        if (u.key.startsWith(r.prefix) && dueAt(u.initiated, r.abortDays) <= now) {
          svc.abortUpload(b, u);
          res.uploadsAborted++;
        }
      }
    }
    const wantsCurrent = r.expirationDays !== undefined || r.expirationDate !== undefined || r.expiredObjectDeleteMarker;
    if (!wantsCurrent && r.noncurrentDays === undefined) continue;
    for (const versions of svc.scanVersions(b, { prefix: r.prefix })) {
      const cur = versions[0]!;
      if (r.noncurrentDays !== undefined) {
        versions.slice(1).forEach((v, i) => {
          if (r.newerNoncurrent !== undefined && i < r.newerNoncurrent) return;
          if (matches(r, v) && dueAt(v.noncurrentSince ?? v.lastModified, r.noncurrentDays!) <= now) {
            svc.deleteObject(SWEEPER, b, v.key, v.versionId ?? "null");
            res.noncurrentRemoved++;
          }
        });
      }
      if (cur.deleteMarker) {
        if (r.expiredObjectDeleteMarker && svc.store.listVersions(b.id, cur.key).length === 0) {
          svc.deleteObject(SWEEPER, b, cur.key, cur.versionId ?? "null");
          res.markersRemoved++;
        }
        continue;
      }
      if (!matches(r, cur)) continue;
      const due = (r.expirationDays !== undefined && dueAt(cur.lastModified, r.expirationDays) <= now) || (r.expirationDate !== undefined && r.expirationDate <= now);
      if (due) {
        svc.deleteObject(SWEEPER, b, cur.key, versioned ? undefined : "null");
        res.expired++;
      }
    }
  }
}
