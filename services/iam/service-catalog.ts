/**
 * The service catalog (components register their endpoints; clients need only iam's) and the
 * audit log's query and verification.
 */
import type { AuditQuery, AuditRecord, AuditVerification } from "./audit.ts";
import { IamErrors } from "./errors.ts";
import type { IamService } from "./service.ts";
import { serviceOf } from "./service-identity.ts";
import type { CatalogEntry, Caller, ItemList, RequestInfo } from "./types.ts";

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

function checkEntry(input: { service: string; instance?: string; endpoints: Record<string, string> }): CatalogEntry {
  if (typeof input?.service !== "string" || !NAME.test(input.service)) throw IamErrors.InvalidName("service must be a lowercase name", { details: { field: "service" } });
  const instance = input.instance ?? "default";
  if (typeof instance !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(instance)) throw IamErrors.InvalidArgument("instance must be a node name", { details: { field: "instance" } });
  const endpoints: Record<string, string> = Object.create(null);
  if (typeof input.endpoints !== "object" || input.endpoints === null) throw IamErrors.InvalidArgument("endpoints must map names to addresses", { details: { field: "endpoints" } });
  for (const [k, v] of Object.entries(input.endpoints)) {
    if (!NAME.test(k) || typeof v !== "string" || v.length === 0 || v.length > 512) throw IamErrors.InvalidArgument(`endpoint ${JSON.stringify(k)} must be a name mapped to an address`, { details: { field: "endpoints" } });
    endpoints[k] = v;
  }
  return { service: input.service, instance, endpoints: { ...endpoints }, registeredAt: Date.now() };
}

/** Writes a catalog entry without authorisation (the component that hosts iam registers what `photon up` started). */
export async function registerDirect(svc: IamService, input: { service: string; instance?: string; endpoints: Record<string, string> }): Promise<CatalogEntry> {
  const e = checkEntry(input);
  await svc.store.putRecord("catalog", `${e.service}:${e.instance}`, e);
  return e;
}

/** Registers (or replaces) a component's endpoints (`iam:catalog:create` on the system). */
export function registerEndpoint(svc: IamService, caller: Caller, input: { service: string; instance?: string; endpoints: Record<string, string> }): Promise<CatalogEntry> {
  const e = checkEntry(input);
  return svc.change(caller, "iam:catalog:create", { id: `${e.service}:${e.instance}` }, () => registerDirect(svc, e), (v) => `${v.service}:${v.instance}`);
}

/**
 * A PhotonCloud service registers (or replaces) its own endpoints, proving who it is with its
 * service secret (service-identity.ts): it can register only under its own name.
 * @throws IAM:Unauthenticated / IAM:PermissionDenied without a valid service secret.
 */
export async function registerOwnEndpoint(svc: IamService, input: { instance?: string; endpoints: Record<string, string> }, req: RequestInfo): Promise<CatalogEntry> {
  const service = await serviceOf(svc, req, "RegisterOwnEndpoint");
  const e = await registerDirect(svc, { service, ...(input.instance !== undefined ? { instance: input.instance } : {}), endpoints: input.endpoints });
  await svc.record({ principal: `service:${service}`, action: "iam:catalog:create", resource: `${e.service}:${e.instance}`, result: "success", source: req.source });
  return e;
}

/** Every registered endpoint, or one service's; open to every authenticated caller. */
export async function listCatalog(svc: IamService, _caller: Caller, input: { service?: string }): Promise<ItemList<CatalogEntry>> {
  const prefix = input?.service === undefined ? "" : `${input.service}:`;
  return { items: (await svc.store.listRecords<CatalogEntry>("catalog", prefix)).map((r) => r.value) };
}

/** Removes an entry (`iam:catalog:delete` on the system). */
export async function deregisterEndpoint(svc: IamService, caller: Caller, input: { service: string; instance: string }): Promise<Record<string, never>> {
  const id = `${input?.service}:${input?.instance}`;
  await svc.change(caller, "iam:catalog:delete", { id }, () => svc.store.deleteRecord("catalog", id));
  return {};
}

/**
 * Audit records by time and principal (`iam:audit:list` on the system, or on `org` for that
 * organisation's records).
 */
export async function queryAudit(svc: IamService, caller: Caller, input: AuditQuery): Promise<ItemList<AuditRecord>> {
  const q: AuditQuery = { ...input };
  if (typeof q.limit === "string") q.limit = Number(q.limit);
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 10_000)) throw IamErrors.InvalidArgument("limit must be 1..10000", { details: { field: "limit" } });
  if (typeof q.from === "string" && /^\d+$/.test(q.from)) q.from = Number(q.from);
  if (typeof q.to === "string" && /^\d+$/.test(q.to)) q.to = Number(q.to);
  for (const f of ["from", "to"] as const) {
    if (q[f] !== undefined && Number.isNaN(typeof q[f] === "number" ? q[f] : Date.parse(q[f] as string))) throw IamErrors.InvalidArgument(`${f} must be an ISO 8601 time or epoch milliseconds`, { details: { field: f } });
  }
  await svc.allow(caller, "iam:audit:list", q.org === undefined ? {} : { org: svc.require("org", q.org).id }, false);
  return { items: await svc.audit.query(q) };
}

/** Verifies the whole chain (`iam:audit:get` on the system). */
export async function verifyAudit(svc: IamService, caller: Caller): Promise<AuditVerification> {
  await svc.allow(caller, "iam:audit:get", {}, false);
  return svc.audit.verify();
}
