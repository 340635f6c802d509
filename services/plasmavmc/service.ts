/**
 * `PlasmavmcService`: plasmavmc's domain logic, no transport in it. Every call names its caller
 * (an `IamGuard` caller) and is authorised through iam (`plasmavmc:<resource>:<verb>`) before
 * anything is read or written: creations and lists against the project they name (or the
 * token's), calls on one resource against that resource's project — a resource of a project the
 * caller may not read is reported as not found, so ids of other tenants reveal nothing. Flavors
 * and hosts belong to no project: anyone authenticated reads flavors, changing them (and reading
 * hosts) is authorised on the deployment (`{type}` without a project), which only administrators
 * hold. The operations live in service-<resource>.ts; this file holds what they share.
 */
import type { PhotonError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { GuardCaller, IamGuard } from "../iam/guard.ts";
import { NovanetClient } from "../novanet/client.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { ImportPolicy } from "./images/import-policy.ts";
import { keys, type PlasmavmcStore, type StoreTx } from "./store.ts";
import { QUOTA_KINDS, type QuotaKind } from "./types.ts";

/** Options of the service. */
export interface PlasmavmcServiceOptions {
  store: PlasmavmcStore;
  guard: IamGuard;
  logger: Logger;
  /** novanet's REST URL (ports are created there on the caller's behalf). */
  novanetUrl: string;
  /** The local image store. */
  imageDir: string;
  /** Largest image accepted (bytes; default 20 GiB). */
  imageMaxBytes?: number;
  /** CIDRs and host patterns image imports may fetch from besides public addresses (`[plasmavmc] image_import_allow`). */
  imageImportAllow?: readonly string[];
  /** Quotas of projects without their own. */
  defaultQuota?: Partial<Record<QuotaKind, number>>;
  /** How long a delete waits for the host agent to remove the VM (default 30 000 ms). */
  deleteWaitMs?: number;
}

/** Default per-project limits. */
export const DEFAULT_QUOTA: Record<QuotaKind, number> = { vms: 20, vcpus: 40, memoryMiB: 81920, volumes: 20, gigabytes: 1000 };

/** The scope a resource is filed under. */
export interface Scope {
  org: string;
  project: string;
}

/** Id prefixes (lowercase: a VM id is also its runtime directory and QEMU name on the host). */
export const ID_PREFIX = { flavors: "flv-", images: "img-", vms: "vm-", volumes: "vol-", snapshots: "snap-" } as const;

/** A new id: the kind's prefix and 16 random hex digits. */
export function newId(kind: keyof typeof ID_PREFIX): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return ID_PREFIX[kind] + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Checks a resource name (1-63 letters, digits, '.', '_', '-').
 * @throws PLASMAVMC:InvalidArgument naming the field.
 */
export function checkName(name: unknown, field = "name"): string {
  if (typeof name !== "string" || !NAME.test(name)) throw PlasmavmcErrors.InvalidArgument(`${field} ${JSON.stringify(name ?? "")} must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`, { details: { field } });
  return name;
}

/** Checks an integer field within [min, max]. */
export function checkInt(v: unknown, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw PlasmavmcErrors.InvalidArgument(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, { details: { field } });
  return v as number;
}

/** plasmavmc's service (see the file comment). */
export class PlasmavmcService {
  readonly store: PlasmavmcStore;
  readonly guard: IamGuard;
  readonly log: Logger;
  readonly novanetUrl: string;
  readonly imageDir: string;
  readonly imageMaxBytes: number;
  /** Where image imports may fetch from (images/import-policy.ts). */
  readonly importPolicy: ImportPolicy;
  readonly defaultQuota: Record<QuotaKind, number>;
  readonly deleteWaitMs: number;
  /** Background work (image imports) the server waits for on stop. */
  readonly background = new Set<Promise<unknown>>();

  constructor(options: PlasmavmcServiceOptions) {
    this.store = options.store;
    this.guard = options.guard;
    this.log = options.logger;
    this.novanetUrl = options.novanetUrl;
    this.imageDir = options.imageDir;
    this.imageMaxBytes = options.imageMaxBytes ?? 20 * 1024 ** 3;
    this.importPolicy = new ImportPolicy({ allow: options.imageImportAllow ?? [] });
    this.defaultQuota = { ...DEFAULT_QUOTA, ...options.defaultQuota };
    this.deleteWaitMs = options.deleteWaitMs ?? 30_000;
  }

  /** novanet on the caller's behalf (its own token: novanet authorises the caller, not plasmavmc). */
  novanet(caller: GuardCaller): NovanetClient {
    return new NovanetClient(this.novanetUrl, caller.token);
  }

  /** Runs `p` in the background, logged on failure and awaited by `drain`. */
  spawn(what: string, p: Promise<unknown>): void {
    const q = p.catch((e) => this.log.error(`${what} failed`, { error: (e as Error).message, code: (e as PhotonError).code }));
    this.background.add(q);
    void q.finally(() => this.background.delete(q));
  }

  /** Waits for background work. */
  async drain(): Promise<void> {
    await Promise.all([...this.background]);
  }

  /**
   * Authorises `plasmavmc:<type>:<verb>` on a project: `project`, else the token's.
   * @throws PLASMAVMC:InvalidArgument without a project; IAM:PermissionDenied.
   */
  async authorizeProject(caller: GuardCaller, type: string, verb: string, project?: string): Promise<Scope> {
    const p = project || caller.project;
    if (!p) throw PlasmavmcErrors.InvalidArgument("project is required (the access token is not scoped to a project)", { details: { field: "project" } });
    const s = await this.guard.authorize(caller, `plasmavmc:${type}:${verb}`, { project: p, type });
    return { org: s.org ?? caller.org ?? "", project: p };
  }

  /** Authorises an action on a deployment-wide resource (flavors, hosts): administrators only. */
  async authorizeGlobal(caller: GuardCaller, type: string, verb: string): Promise<void> {
    await this.guard.authorize(caller, `plasmavmc:${type}:${verb}`, { type });
  }

  /**
   * Loads a project resource for `verb`: PLASMAVMC:NotFound when absent or when the caller may not
   * even read it; IAM:PermissionDenied when it may read but not `verb`.
   */
  async load<T extends { org: string; project: string }>(caller: GuardCaller, kind: "images" | "vms" | "volumes" | "snapshots", id: unknown, verb: string): Promise<T> {
    const type = ({ images: "image", vms: "vm", volumes: "volume", snapshots: "snapshot" } as const)[kind];
    const notFound = () => PlasmavmcErrors.NotFound(`${type} ${JSON.stringify(id)} not found`, { details: { id } });
    if (typeof id !== "string" || !id.startsWith(ID_PREFIX[kind]) || id.includes("/")) throw notFound();
    const doc = await this.store.get<T>(keys.doc(kind, id));
    if (!doc) throw notFound();
    const ref = { org: doc.org, project: doc.project, type, id };
    try {
      await this.guard.authorize(caller, `plasmavmc:${type}:get`, ref);
    } catch (e) {
      if ((e as PhotonError).code === "IAM:PermissionDenied") throw notFound();
      throw e;
    }
    if (verb !== "get") await this.guard.authorize(caller, `plasmavmc:${type}:${verb}`, ref);
    return doc;
  }

  /** The project's limits. */
  async limits(tx: StoreTx | undefined, project: string): Promise<Record<QuotaKind, number>> {
    const own = tx ? await tx.get<Partial<Record<QuotaKind, number>>>(keys.quota(project)) : await this.store.get<Partial<Record<QuotaKind, number>>>(keys.quota(project));
    return { ...this.defaultQuota, ...own };
  }

  /** The project's usage (recorded when read in `tx`). */
  async usage(tx: StoreTx | undefined, project: string): Promise<Record<QuotaKind, number>> {
    const u = tx ? await tx.get<Partial<Record<QuotaKind, number>>>(keys.usage(project)) : await this.store.get<Partial<Record<QuotaKind, number>>>(keys.usage(project));
    const out = Object.fromEntries(QUOTA_KINDS.map((k) => [k, 0])) as Record<QuotaKind, number>;
    return { ...out, ...u };
  }

  /**
   * Adds `delta` to the project's usage in `tx`, refusing to go over a limit when growing. The
   * usage document is read (recorded) and rewritten, so two transactions changing it conflict
   * and one re-runs on the other's result: limits hold under concurrency.
   * @throws PLASMAVMC:QuotaExceeded naming the kind.
   */
  async charge(tx: StoreTx, project: string, delta: Partial<Record<QuotaKind, number>>): Promise<void> {
    const used = await this.usage(tx, project);
    const limits = await this.limits(tx, project);
    for (const k of QUOTA_KINDS) {
      const d = delta[k] ?? 0;
      if (d > 0 && used[k] + d > limits[k]) throw PlasmavmcErrors.QuotaExceeded(`project ${project} would exceed its quota of ${limits[k]} ${k} (uses ${used[k]}, asks ${d} more)`, { details: { kind: k, limit: limits[k], used: used[k] } });
      used[k] = Math.max(0, used[k] + d);
    }
    tx.put(keys.usage(project), used);
  }
}
