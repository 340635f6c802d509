/**
 * Application credentials (service accounts authenticate with them) and S3 access keys. Their
 * secrets are returned once, by the call that creates them; afterwards only a view without the
 * secret (or its digest, or its sealed form) is ever returned. Managed with
 * `iam:credential:*` / `iam:accesskey:*` where the principal lives; every principal may also
 * manage its own access keys.
 */
import type { ResourceRef } from "../../lib/authz/types.ts";
import { IamErrors } from "./errors.ts";
import type { IamService } from "./service.ts";
import { createAccessKey, type AccessKeyRecord } from "./tokens/access-key.ts";
import { createAppCredential, type AppCredentialRecord } from "./tokens/app-credential.ts";
import type { AccessKeyView, AppCredentialView, Caller, ItemList } from "./types.ts";

function appCredentialView(r: AppCredentialRecord): AppCredentialView {
  const { hash: _hash, ...view } = r;
  return view;
}

function accessKeyView(r: AccessKeyRecord): AccessKeyView {
  const { sealedSecret: _sealed, ...view } = r;
  return view;
}

/** Creates an application credential for a service account (`iam:credential:create` on its project). */
export async function createCredential(
  svc: IamService,
  caller: Caller,
  input: { serviceAccount: string; name: string; expiresAt: number; accessRules?: string[] },
): Promise<{ credential: AppCredentialView; secret: string }> {
  const sa = svc.require("serviceaccount", input?.serviceAccount);
  return svc.change(caller, "iam:credential:create", svc.refOf(sa), async () => {
    const { secret, record } = createAppCredential({ serviceAccount: sa, name: input.name, expiresAt: input.expiresAt, ...(input.accessRules ? { accessRules: input.accessRules } : {}) });
    await svc.store.putRecord("appcred", record.id, record, 0);
    return { credential: appCredentialView(record), secret };
  }, (v) => v.credential.id);
}

/** The application credentials the caller may list, optionally of one service account. */
export async function listCredentials(svc: IamService, caller: Caller, input: { serviceAccount?: string }): Promise<ItemList<AppCredentialView>> {
  const all = await svc.store.listRecords<AppCredentialRecord>("appcred");
  return {
    items: all
      .map((r) => r.value)
      .filter((r) => (input?.serviceAccount === undefined || r.serviceAccount === input.serviceAccount) && svc.decide(caller, "iam:credential:list", { org: r.org, project: r.project }).allowed)
      .map(appCredentialView),
  };
}

async function requireCredential(svc: IamService, id: unknown): Promise<AppCredentialRecord> {
  const r = typeof id === "string" && /^[a-z2-7]{16}$/.test(id) ? await svc.store.getRecord<AppCredentialRecord>("appcred", id) : undefined;
  if (!r) throw IamErrors.NotFound(`application credential ${JSON.stringify(id)} not found`, { details: { kind: "credential" } });
  return r.value;
}

/** One application credential (`iam:credential:get`). */
export async function getCredential(svc: IamService, caller: Caller, input: { id: string }): Promise<AppCredentialView> {
  const r = await requireCredential(svc, input?.id);
  await svc.allow(caller, "iam:credential:get", { org: r.org, project: r.project, id: r.id }, false);
  return appCredentialView(r);
}

/** Deletes an application credential (`iam:credential:delete`). */
export async function deleteCredential(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const r = await requireCredential(svc, input?.id);
  await svc.change(caller, "iam:credential:delete", { org: r.org, project: r.project, id: r.id }, () => svc.store.deleteRecord("appcred", r.id));
  return {};
}

/** Where a principal lives, for access-key decisions. */
function principalRef(svc: IamService, id: string): ResourceRef {
  const u = svc.replica.model.get("user", id);
  if (u) return svc.refOf(u);
  return svc.refOf(svc.require("serviceaccount", id));
}

/** Refuses unless the caller may do `verb` on the access keys of `principal` (themselves always). */
async function allowKeys(svc: IamService, caller: Caller, verb: string, principal: string, mutating: boolean): Promise<ResourceRef> {
  const ref = principalRef(svc, principal);
  if (principal === caller.principal && caller.claims.rules === undefined) {
    if (mutating) await svc.record({ principal: caller.principal, action: `iam:accesskey:${verb}`, resource: principal, result: "allowed", reason: "own access keys", source: caller.source });
    return ref;
  }
  await svc.allow(caller, `iam:accesskey:${verb}`, ref, mutating);
  return ref;
}

/**
 * The project an access key acts in: one of the principal's organisation (any, for a system
 * principal); a service account's keys act in its own project.
 * @throws IAM:NotFound, IAM:InvalidArgument.
 */
function accessKeyProject(svc: IamService, project: string, owner: ResourceRef): string {
  const p = svc.require("project", project);
  if (owner.project !== undefined && owner.project !== p.id) throw IamErrors.InvalidArgument("a service account's access keys act in its own project", { details: { field: "project" } });
  if (owner.org !== undefined && owner.org !== p.org) throw IamErrors.NotFound(`project ${JSON.stringify(project)} not found`, { details: { kind: "project", field: "project" } });
  return p.id;
}

/** Creates an access key for a principal (default: the caller); the secret is returned this once. */
export async function createAccessKeyOp(svc: IamService, caller: Caller, input: { principal?: string; project?: string; expiresAt?: number }): Promise<{ accessKey: AccessKeyView; secretAccessKey: string }> {
  const principal = input?.principal ?? caller.principal;
  const ref = await allowKeys(svc, caller, "create", principal, true);
  const project = input?.project === undefined ? undefined : accessKeyProject(svc, input.project, ref);
  const { secretAccessKey, record } = createAccessKey({ principal, ...(ref.org ? { org: ref.org } : {}), ...(project ? { project } : {}), ...(input?.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}) }, svc.cipher);
  await svc.store.putRecord("accesskey", record.accessKeyId, record, 0);
  await svc.record({ principal: caller.principal, action: "iam:accesskey:create", scope: { ...(ref.org ? { org: ref.org } : {}) }, resource: record.accessKeyId, result: "success", source: caller.source });
  return { accessKey: accessKeyView(record), secretAccessKey };
}

/** The access keys of a principal (default: the caller). */
export async function listAccessKeys(svc: IamService, caller: Caller, input: { principal?: string }): Promise<ItemList<AccessKeyView>> {
  const principal = input?.principal ?? caller.principal;
  await allowKeys(svc, caller, "list", principal, false);
  const all = await svc.store.listRecords<AccessKeyRecord>("accesskey");
  return { items: all.map((r) => r.value).filter((r) => r.principal === principal).map(accessKeyView) };
}

async function requireKey(svc: IamService, id: unknown): Promise<{ value: AccessKeyRecord; modRevision: number }> {
  const r = typeof id === "string" && /^PK[A-Z2-7]{18}$/.test(id) ? await svc.store.getRecord<AccessKeyRecord>("accesskey", id) : undefined;
  if (!r) throw IamErrors.NotFound(`access key ${JSON.stringify(id)} not found`, { details: { kind: "accesskey" } });
  return r;
}

/** One access key. */
export async function getAccessKey(svc: IamService, caller: Caller, input: { id: string }): Promise<AccessKeyView> {
  const r = await requireKey(svc, input?.id);
  await allowKeys(svc, caller, "get", r.value.principal, false);
  return accessKeyView(r.value);
}

/** Disables or re-enables an access key. */
export async function updateAccessKey(svc: IamService, caller: Caller, input: { id: string; disabled?: boolean }): Promise<AccessKeyView> {
  const r = await requireKey(svc, input?.id);
  await allowKeys(svc, caller, "update", r.value.principal, true);
  const next: AccessKeyRecord = { ...r.value };
  if (input.disabled === true) next.disabled = true;
  else if (input.disabled === false) delete next.disabled;
  if (!(await svc.store.putRecord("accesskey", next.accessKeyId, next, r.modRevision))) throw IamErrors.Conflict("the access key changed meanwhile; retry");
  await svc.record({ principal: caller.principal, action: "iam:accesskey:update", resource: next.accessKeyId, result: "success", source: caller.source });
  return accessKeyView(next);
}

/** Deletes an access key. */
export async function deleteAccessKey(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const r = await requireKey(svc, input?.id);
  await allowKeys(svc, caller, "delete", r.value.principal, true);
  await svc.store.deleteRecord("accesskey", r.value.accessKeyId);
  await svc.record({ principal: caller.principal, action: "iam:accesskey:delete", resource: r.value.accessKeyId, result: "success", source: caller.source });
  return {};
}
