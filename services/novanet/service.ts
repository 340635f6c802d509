/**
 * `NovanetService`: novanet's domain logic, no transport in it. Every call names its caller (an
 * `IamGuard` caller) and is authorised through iam before anything is read or written:
 * creations and lists against the project they name (or the token's project), calls on one
 * resource against that resource's project — a resource of a project the caller may not read is
 * reported as not found, so ids of other tenants reveal nothing. The resource operations live in
 * service-<resource>.ts; this file holds what they share: authorisation, loading, quotas, the
 * two-phase delete and the project's default security group.
 */
import { createHash } from "node:crypto";
import type { PhotonError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { GuardCaller, IamGuard } from "../iam/guard.ts";
import { NovanetErrors } from "./errors.ts";
import { keys, type NovanetStore, type StoreTx } from "./store.ts";
import { QUOTA_KINDS, type Owned, type QuotaKind, type SecurityGroup } from "./types.ts";

/** The external (provider) network routers and floating IPs use. */
export interface ExternalNetworkConfig {
  cidr: string;
  gatewayIp: string;
  /** Inclusive range external addresses are taken from; default every host address but the gateway. */
  poolStart?: string;
  poolEnd?: string;
  /** IPv6 prefix of the external network: routers also get an address there (routed, no NAT66). */
  cidr6?: string;
  gatewayIp6?: string;
}

/** Options of the service. */
export interface NovanetServiceOptions {
  store: NovanetStore;
  guard: IamGuard;
  logger: Logger;
  /** VNIs handed to VPCs (inclusive); the conntrack zone is the VNI, hence at most 65535. */
  vniMin?: number;
  vniMax?: number;
  /** Quotas of projects without their own. */
  defaultQuota?: Partial<Record<QuotaKind, number>>;
  external?: ExternalNetworkConfig;
}

/** Default per-project limits. */
export const DEFAULT_QUOTA: Record<QuotaKind, number> = { vpcs: 10, subnets: 50, ports: 500, secgroups: 50, rules: 500, routers: 10, fips: 50 };

/** The resource kinds and their iam resource type (`novanet:<type>:<verb>`) and id prefix. */
export const KINDS = {
  vpcs: { type: "vpc", prefix: "vpc_" },
  subnets: { type: "subnet", prefix: "sn_" },
  ports: { type: "port", prefix: "port_" },
  secgroups: { type: "secgroup", prefix: "sg_" },
  routers: { type: "router", prefix: "rtr_" },
  fips: { type: "fip", prefix: "fip_" },
} as const;
/** A stored resource kind. */
export type Kind = keyof typeof KINDS;

/** The scope a resource is filed under. */
export interface Scope {
  org: string;
  project: string;
}

/** A new id: the kind's prefix and 16 random hex digits. */
export function newId(kind: Kind): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return KINDS[kind].prefix + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** The id of a project's default security group (fixed, so concurrent first uses agree). */
export function defaultGroupId(project: string): string {
  return `sg_d${createHash("sha256").update(project).digest("hex").slice(0, 15)}`;
}

/** novanet's service (see the file comment). */
export class NovanetService {
  readonly store: NovanetStore;
  readonly guard: IamGuard;
  readonly log: Logger;
  readonly vniMin: number;
  readonly vniMax: number;
  readonly defaultQuota: Record<QuotaKind, number>;
  readonly external: ExternalNetworkConfig | undefined;

  constructor(options: NovanetServiceOptions) {
    this.store = options.store;
    this.guard = options.guard;
    this.log = options.logger;
    this.vniMin = options.vniMin ?? 4096;
    this.vniMax = options.vniMax ?? 65535;
    if (!(this.vniMin >= 1 && this.vniMin <= this.vniMax && this.vniMax <= 65535)) throw NovanetErrors.InvalidArgument(`bad VNI range ${this.vniMin}-${this.vniMax} (1 ≤ min ≤ max ≤ 65535)`);
    this.defaultQuota = { ...DEFAULT_QUOTA, ...options.defaultQuota };
    this.external = options.external;
  }

  /**
   * Authorises `novanet:<type>:<verb>` on a project: `project`, else the token's.
   * @throws NOVANET:InvalidArgument without a project; IAM:PermissionDenied.
   */
  async authorizeProject(caller: GuardCaller, type: string, verb: string, project?: string): Promise<Scope> {
    const p = project || caller.project;
    if (!p) throw NovanetErrors.InvalidArgument("project is required (the access token is not scoped to a project)", { details: { field: "project" } });
    const s = await this.guard.authorize(caller, `novanet:${type}:${verb}`, { project: p, type });
    return { org: s.org ?? caller.org ?? "", project: p };
  }

  /**
   * Loads resource `id` of `kind` for `verb`: NOVANET:NotFound when absent or when the caller
   * may not even read it; IAM:PermissionDenied when it may read but not `verb`.
   */
  async load<T extends Owned>(caller: GuardCaller, kind: Kind, id: string, verb: string): Promise<T> {
    const { type } = KINDS[kind];
    const notFound = () => NovanetErrors.NotFound(`${type} ${id} not found`, { details: { id } });
    if (typeof id !== "string" || !id.startsWith(KINDS[kind].prefix) || id.includes("/")) throw notFound();
    const doc = await this.store.get<T>(keys.doc(kind, id));
    if (!doc) throw notFound();
    const ref = { org: doc.org, project: doc.project, type, id };
    try {
      await this.guard.authorize(caller, `novanet:${type}:get`, ref);
    } catch (e) {
      if ((e as PhotonError).code === "IAM:PermissionDenied") throw notFound();
      throw e;
    }
    if (verb !== "get") await this.guard.authorize(caller, `novanet:${type}:${verb}`, ref);
    return doc;
  }

  /** The project's resources of `kind` (after authorising `list`). */
  async list<T extends Owned>(caller: GuardCaller, kind: Kind, project: string | undefined, filter: (d: T) => boolean = () => true): Promise<T[]> {
    const s = await this.authorizeProject(caller, KINDS[kind].type, "list", project);
    const docs = await this.store.list<T>(keys.kind(kind));
    return docs.map((d) => d.value).filter((d) => d.project === s.project && filter(d)).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Reads `kind/id` inside a transaction, refusing a missing one or one being deleted. */
  async must<T extends Owned>(tx: StoreTx, kind: Kind, id: string, project: string, field: string): Promise<T> {
    const d = typeof id === "string" && id !== "" && !id.includes("/") ? await tx.get<T>(keys.doc(kind, id)) : undefined;
    if (!d || d.project !== project) throw NovanetErrors.NotFound(`${field}: ${KINDS[kind].type} ${JSON.stringify(id)} not found in project ${project}`, { details: { field, id } });
    if (d.deleting) throw NovanetErrors.InUse(`${field}: ${KINDS[kind].type} ${id} is being deleted`, { details: { field, id } });
    return d;
  }

  /** The project's limits. */
  async limits(tx: StoreTx | undefined, project: string): Promise<Record<QuotaKind, number>> {
    const own = tx ? await tx.get<Partial<Record<QuotaKind, number>>>(keys.quota(project)) : await this.store.get<Partial<Record<QuotaKind, number>>>(keys.quota(project));
    return { ...this.defaultQuota, ...own };
  }

  /**
   * Takes one unit of `kind` from the project's quota for `owner`: a slot key below the limit,
   * claimed (so concurrent creates can never exceed it).
   * @throws NOVANET:QuotaExceeded.
   */
  async claimSlot(tx: StoreTx, project: string, kind: QuotaKind, owner: string): Promise<void> {
    const limit = (await this.limits(tx, project))[kind];
    const used = new Set((await tx.list<string>(keys.slots(project, kind))).map((s) => Number(s.key.slice(s.key.lastIndexOf("/") + 1))));
    // A random free slot below the limit (which one does not matter), so concurrent creates rarely collide.
    const start = Math.floor(Math.random() * limit);
    let n = -1;
    for (let k = 0; k < limit && n < 0; k++) if (!used.has((start + k) % limit)) n = (start + k) % limit;
    if (n < 0) throw NovanetErrors.QuotaExceeded(`project ${project} has used its quota of ${limit} ${kind}`, { details: { kind, limit } });
    tx.claim(keys.slot(project, kind, n), owner);
  }

  /** Gives back the slots `owners` hold. */
  async releaseSlots(tx: StoreTx, project: string, kind: QuotaKind, owners: ReadonlySet<string>): Promise<void> {
    for (const s of await tx.list<string>(keys.slots(project, kind))) if (owners.has(s.value)) tx.delete(s.key);
  }

  /** How many of each kind the project uses. */
  async usage(project: string): Promise<Record<QuotaKind, number>> {
    const out = Object.create(null) as Record<QuotaKind, number>;
    for (const k of QUOTA_KINDS) out[k] = (await this.store.list(keys.slots(project, k))).length;
    return { ...out };
  }

  /** The project's default group, created in `tx` when missing. */
  async defaultGroup(tx: StoreTx, scope: Scope): Promise<string> {
    const id = defaultGroupId(scope.project);
    const key = keys.doc("secgroups", id);
    if (!(await tx.get<SecurityGroup>(key))) {
      const sg: SecurityGroup = {
        id, org: scope.org, project: scope.project, name: "default", createdAt: new Date().toISOString(),
        description: "ingress from members of this group only, all egress", isDefault: true,
        rules: [
          { id: `${id}-in4`, direction: "ingress", ethertype: "ipv4", remoteGroup: id },
          { id: `${id}-out4`, direction: "egress", ethertype: "ipv4" },
          { id: `${id}-in6`, direction: "ingress", ethertype: "ipv6", remoteGroup: id },
          { id: `${id}-out6`, direction: "egress", ethertype: "ipv6" },
        ],
      };
      tx.put(key, sg);
    }
    return id;
  }

  /**
   * Deletes a resource only when nothing depends on it, without a window for a new dependant:
   * marks it `deleting` (creates under it re-read it in their transaction and refuse), then
   * runs `dependants` (a message when something still uses it), then either un-marks it and
   * throws NOVANET:InUse, or runs `remove` in a transaction that also checks the mark is intact.
   */
  async guardedDelete<T extends Owned>(kind: Kind, id: string, dependants: (doc: T) => Promise<string | undefined>, remove: (tx: StoreTx, doc: T) => Promise<void>): Promise<void> {
    const key = keys.doc(kind, id);
    const marked = await this.store.transact(async (tx) => {
      const d = await tx.get<T>(key);
      if (!d) throw NovanetErrors.NotFound(`${KINDS[kind].type} ${id} not found`, { details: { id } });
      tx.put(key, { ...d, deleting: true });
      return { ...d, deleting: true } as T;
    });
    let busy: string | undefined;
    try {
      busy = await dependants(marked);
    } catch (e) {
      busy = undefined;
      await this.unmark(key);
      throw e;
    }
    if (busy !== undefined) {
      await this.unmark(key);
      throw NovanetErrors.InUse(`${KINDS[kind].type} ${id} is in use: ${busy}`, { details: { id } });
    }
    await this.store.transact(async (tx) => {
      const d = await tx.get<T>(key);
      if (!d) return;
      await remove(tx, d);
      tx.delete(key);
    });
  }

  private async unmark(key: string): Promise<void> {
    await this.store.transact(async (tx) => {
      const d = await tx.get<Owned>(key);
      if (d?.deleting) {
        const { deleting: _, ...rest } = d;
        tx.put(key, rest);
      }
    });
  }
}

/** A resource as the API shows it (internal marks removed). */
export function shown<T extends Owned>(d: T): T {
  const { deleting: _, ...rest } = d;
  return rest as T;
}
