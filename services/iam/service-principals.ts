/**
 * Users, service accounts and groups. A user of an organisation is managed with `iam:user:*` on
 * that organisation (system users on the system); a service account with `iam:serviceaccount:*`
 * on its project; a group with `iam:group:*` on its organisation. Passwords are argon2id hashes
 * kept beside the model and written in the same transaction as the user; deleting a principal
 * also deletes its bindings, memberships, password, access keys and application credentials.
 */
import { IamErrors } from "./errors.ts";
import type { CreateGroupInput, CreateServiceAccountInput, CreateUserInput } from "./model/index.ts";
import type { Group, ServiceAccount, User } from "./model/types.ts";
import type { IamService } from "./service.ts";
import type { RecordWrite } from "./store.ts";
import type { AccessKeyRecord } from "./tokens/access-key.ts";
import type { AppCredentialRecord } from "./tokens/app-credential.ts";
import { checkPasswordPolicy, hashPassword, verifyPassword } from "./tokens/password.ts";
import type { Caller, ItemList } from "./types.ts";

/** Creates a user, with an initial password if given (`iam:user:create` in its organisation). */
export async function createUser(svc: IamService, caller: Caller, input: CreateUserInput & { password?: string }): Promise<User> {
  const where = input?.org === undefined ? {} : { org: svc.require("org", input.org).id };
  const { password, ...fields } = input;
  return svc.change(caller, "iam:user:create", where, async () => {
    const hash = password === undefined ? undefined : await hashPassword(checkPasswordPolicy(password));
    return svc.replica.mutate((m) => m.createUser(fields), (u) => (hash ? [{ op: "put", kind: "password", id: u.id, value: { hash } }] : []));
  }, (u) => u.id);
}

/** The users the caller may list, optionally of one organisation. */
export function listUsers(svc: IamService, caller: Caller, input: { org?: string }): ItemList<User> {
  return { items: svc.visible(caller, "user", "user").filter((u) => input?.org === undefined || u.org === input.org) };
}

/** One user (`iam:user:get`; anyone may read themselves). */
export async function getUser(svc: IamService, caller: Caller, input: { id: string }): Promise<User> {
  const u = svc.require("user", input?.id);
  if (u.id !== caller.principal) await svc.allow(caller, "iam:user:get", svc.refOf(u), false);
  return u;
}

/**
 * Changes a user: name, disabled, password (`iam:user:update`). Anyone may change their own
 * password, nothing else of themselves, by giving the current one.
 * @throws IAM:InvalidCredentials when the current password is wrong, IAM:WeakPassword.
 */
export async function updateUser(svc: IamService, caller: Caller, input: { id: string; name?: string; disabled?: boolean; password?: string; currentPassword?: string }): Promise<User> {
  const u = svc.require("user", input?.id);
  const selfPasswordOnly = u.id === caller.principal && input.name === undefined && input.disabled === undefined && input.password !== undefined && input.currentPassword !== undefined;
  if (selfPasswordOnly) {
    const hash = (await svc.store.getRecord<{ hash: string }>("password", u.id))?.value.hash;
    if (!(await verifyPassword(input.currentPassword!, hash))) {
      await svc.record({ principal: caller.principal, action: "iam:user:update", resource: u.id, result: "failure", reason: "IAM:InvalidCredentials (current password)", source: caller.source });
      throw IamErrors.InvalidCredentials("the current password is wrong");
    }
  }
  const run = async () => {
    const hash = input.password === undefined ? undefined : await hashPassword(checkPasswordPolicy(input.password));
    return svc.replica.mutate(
      (m) => {
        let out = m.get("user", u.id)!;
        if (input.name !== undefined) out = m.rename("user", u.id, input.name) as User;
        if (input.disabled !== undefined) out = m.setDisabled(u.id, input.disabled) as User;
        return out;
      },
      () => (hash ? [{ op: "put", kind: "password", id: u.id, value: { hash } } as RecordWrite] : []),
    );
  };
  if (selfPasswordOnly) {
    const out = await run();
    await svc.record({ principal: caller.principal, action: "iam:user:update", resource: u.id, result: "success", reason: "own password", source: caller.source });
    return out;
  }
  return svc.change(caller, "iam:user:update", svc.refOf(u), run);
}

/** Records a principal's deletion drags along. */
async function principalRecords(svc: IamService, id: string): Promise<RecordWrite[]> {
  const out: RecordWrite[] = [{ op: "delete", kind: "password", id }];
  for (const k of await svc.store.listRecords<AccessKeyRecord>("accesskey")) if (k.value.principal === id) out.push({ op: "delete", kind: "accesskey", id: k.value.accessKeyId });
  for (const c of await svc.store.listRecords<AppCredentialRecord>("appcred")) if (c.value.serviceAccount === id) out.push({ op: "delete", kind: "appcred", id: c.value.id });
  return out;
}

/** Deletes a user with its bindings, memberships and credentials (`iam:user:delete`). */
export async function deleteUser(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const u = svc.require("user", input?.id);
  if (u.id === caller.principal) throw IamErrors.InvalidArgument("you cannot delete yourself", { details: { field: "id" } });
  await svc.change(caller, "iam:user:delete", svc.refOf(u), async () => {
    const records = await principalRecords(svc, u.id);
    await svc.replica.mutate((m) => m.deletePrincipal(u.id), () => records);
  });
  return {};
}

/** Creates a service account in a project (`iam:serviceaccount:create` there). */
export function createServiceAccount(svc: IamService, caller: Caller, input: CreateServiceAccountInput): Promise<ServiceAccount> {
  const p = svc.require("project", input?.project);
  return svc.change(caller, "iam:serviceaccount:create", { org: p.org, project: p.id }, () => svc.replica.mutate((m) => m.createServiceAccount(input)), (s) => s.id);
}

/** The service accounts the caller may list, optionally of one project. */
export function listServiceAccounts(svc: IamService, caller: Caller, input: { project?: string }): ItemList<ServiceAccount> {
  return { items: svc.visible(caller, "serviceaccount", "serviceaccount").filter((s) => input?.project === undefined || s.project === input.project) };
}

/** One service account (`iam:serviceaccount:get`). */
export async function getServiceAccount(svc: IamService, caller: Caller, input: { id: string }): Promise<ServiceAccount> {
  const s = svc.require("serviceaccount", input?.id);
  if (s.id !== caller.principal) await svc.allow(caller, "iam:serviceaccount:get", svc.refOf(s), false);
  return s;
}

/** Renames or disables a service account (`iam:serviceaccount:update`). */
export function updateServiceAccount(svc: IamService, caller: Caller, input: { id: string; name?: string; disabled?: boolean }): Promise<ServiceAccount> {
  const s = svc.require("serviceaccount", input?.id);
  return svc.change(caller, "iam:serviceaccount:update", svc.refOf(s), () =>
    svc.replica.mutate((m) => {
      let out = m.get("serviceaccount", s.id)!;
      if (input.name !== undefined) out = m.rename("serviceaccount", s.id, input.name) as ServiceAccount;
      if (input.disabled !== undefined) out = m.setDisabled(s.id, input.disabled) as ServiceAccount;
      return out;
    }),
  );
}

/** Deletes a service account with its bindings and credentials (`iam:serviceaccount:delete`). */
export async function deleteServiceAccount(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const s = svc.require("serviceaccount", input?.id);
  await svc.change(caller, "iam:serviceaccount:delete", svc.refOf(s), async () => {
    const records = await principalRecords(svc, s.id);
    await svc.replica.mutate((m) => m.deletePrincipal(s.id), () => records);
  });
  return {};
}

/** Creates a group (`iam:group:create` in its organisation). */
export function createGroup(svc: IamService, caller: Caller, input: CreateGroupInput): Promise<Group> {
  const where = input?.org === undefined ? {} : { org: svc.require("org", input.org).id };
  return svc.change(caller, "iam:group:create", where, () => svc.replica.mutate((m) => m.createGroup(input)), (g) => g.id);
}

/** The groups the caller may list, optionally of one organisation. */
export function listGroups(svc: IamService, caller: Caller, input: { org?: string }): ItemList<Group> {
  return { items: svc.visible(caller, "group", "group").filter((g) => input?.org === undefined || g.org === input.org) };
}

/** One group (`iam:group:get`). */
export async function getGroup(svc: IamService, caller: Caller, input: { id: string }): Promise<Group> {
  const g = svc.require("group", input?.id);
  await svc.allow(caller, "iam:group:get", svc.refOf(g), false);
  return g;
}

/** Renames a group (`iam:group:update`). */
export function updateGroup(svc: IamService, caller: Caller, input: { id: string; name?: string }): Promise<Group> {
  const g = svc.require("group", input?.id);
  return svc.change(caller, "iam:group:update", svc.refOf(g), () =>
    svc.replica.mutate((m) => (input.name === undefined ? m.get("group", g.id)! : (m.rename("group", g.id, input.name) as Group))),
  );
}

/** Adds a member (`iam:group:update`). */
export function addGroupMember(svc: IamService, caller: Caller, input: { id: string; member: string }): Promise<Group> {
  const g = svc.require("group", input?.id);
  return svc.change(caller, "iam:group:update", svc.refOf(g), () => svc.replica.mutate((m) => m.addMember(g.id, input.member)));
}

/** Removes a member (`iam:group:update`). */
export function removeGroupMember(svc: IamService, caller: Caller, input: { id: string; member: string }): Promise<Group> {
  const g = svc.require("group", input?.id);
  return svc.change(caller, "iam:group:update", svc.refOf(g), () => svc.replica.mutate((m) => m.removeMember(g.id, input.member)));
}

/** Deletes a group with its bindings (`iam:group:delete`). */
export async function deleteGroup(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const g = svc.require("group", input?.id);
  await svc.change(caller, "iam:group:delete", svc.refOf(g), () => svc.replica.mutate((m) => m.deletePrincipal(g.id)));
  return {};
}
