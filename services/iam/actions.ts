/**
 * iam's own actions (`iam:<resource>:<verb>`), the vocabulary its API will check and the list the
 * cross-tenant matrix runs through. Every iam resource takes the five standard verbs.
 */

/** iam resource types. */
export const IAM_RESOURCES = [
  "org",
  "project",
  "user",
  "serviceaccount",
  "group",
  "role",
  "binding",
  "deny",
  "credential",
  "accesskey",
  "token",
  "audit",
  "catalog",
] as const;

/** The verbs of every iam resource. */
export const IAM_VERBS = ["create", "get", "list", "update", "delete"] as const;

/** Every iam action, e.g. `iam:binding:create`. */
export const IAM_ACTIONS: readonly string[] = IAM_RESOURCES.flatMap((r) => IAM_VERBS.map((v) => `iam:${r}:${v}`));
