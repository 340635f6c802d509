/** Application credentials and S3 access keys (secrets returned once, by Create). */
import * as p from "../service-credentials.ts";
import { op, type ApiOperation } from "./operation.ts";

type Id = { id: string };
const id = { id: "string" } as const;

export const credentialOperations: ApiOperation[] = [
  op<{ serviceAccount: string; name: string; expiresAt: number; accessRules?: string[] }>({ name: "CreateCredential", method: "POST", path: "/v1/credentials", auth: true, response: "CreateCredentialResponse", summary: "Create an application credential for a service account; its secret is returned once", fields: { serviceAccount: "string", name: "string", expiresAt: "integer", accessRules: "strings" }, required: ["serviceAccount", "name", "expiresAt"], run: (s, c, i) => p.createCredential(s, c, i) }),
  op<{ serviceAccount?: string }>({ name: "ListCredentials", method: "GET", path: "/v1/credentials", auth: true, response: "CredentialList", summary: "The application credentials the caller may list", fields: { serviceAccount: "string" }, run: (s, c, i) => p.listCredentials(s, c, i) }),
  op<Id>({ name: "GetCredential", method: "GET", path: "/v1/credentials/:id", auth: true, response: "Credential", summary: "One application credential (never its secret)", fields: id, required: ["id"], run: (s, c, i) => p.getCredential(s, c, i) }),
  op<Id>({ name: "DeleteCredential", method: "DELETE", path: "/v1/credentials/:id", auth: true, response: "Empty", summary: "Delete an application credential", fields: id, required: ["id"], run: (s, c, i) => p.deleteCredential(s, c, i) }),
  op<{ principal?: string; project?: string; expiresAt?: number }>({ name: "CreateAccessKey", method: "POST", path: "/v1/accesskeys", auth: true, response: "CreateAccessKeyResponse", summary: "Create an S3 access key (default: for the caller) acting in a project; the secret is returned once", fields: { principal: "string", project: "string", expiresAt: "integer" }, run: (s, c, i) => p.createAccessKeyOp(s, c, i) }),
  op<{ principal?: string }>({ name: "ListAccessKeys", method: "GET", path: "/v1/accesskeys", auth: true, response: "AccessKeyList", summary: "The access keys of a principal (default: the caller)", fields: { principal: "string" }, run: (s, c, i) => p.listAccessKeys(s, c, i) }),
  op<Id>({ name: "GetAccessKey", method: "GET", path: "/v1/accesskeys/:id", auth: true, response: "AccessKey", summary: "One access key (never its secret)", fields: id, required: ["id"], run: (s, c, i) => p.getAccessKey(s, c, i) }),
  op<Id & { disabled?: boolean }>({ name: "UpdateAccessKey", method: "PATCH", path: "/v1/accesskeys/:id", auth: true, response: "AccessKey", summary: "Disable or re-enable an access key", fields: { id: "string", disabled: "boolean" }, required: ["id"], run: (s, c, i) => p.updateAccessKey(s, c, i) }),
  op<Id>({ name: "DeleteAccessKey", method: "DELETE", path: "/v1/accesskeys/:id", auth: true, response: "Empty", summary: "Delete an access key", fields: id, required: ["id"], run: (s, c, i) => p.deleteAccessKey(s, c, i) }),
];
