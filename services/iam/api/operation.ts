/**
 * One API operation, described once and served twice: as a REST route (`rest.ts`) and as a gRPC
 * method of `photon.iam.v1.Iam` (`grpc.ts`), so both transports share validation, semantics and
 * error codes by construction; `openapi.ts` documents the same table. An operation's input is
 * the union of its path parameters, query parameters (GET, DELETE) and JSON body (POST, PATCH),
 * or the gRPC request message's fields: the same names either way.
 */
import { IamErrors } from "../errors.ts";
import type { IamService } from "../service.ts";
import type { Caller, RequestInfo } from "../types.ts";

/** How a field is checked at the boundary (the service checks values further). */
export type FieldType = "string" | "integer" | "boolean" | "strings" | "map" | "object";

/** A described operation. */
export interface ApiOperation {
  /** The gRPC method (`CreateProject`). */
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Hono path with `:params` (`/v1/projects/:id`). */
  path: string;
  summary: string;
  /** False for the few calls that take no access token (login, refresh, JWKS...). */
  auth: boolean;
  /** Accepted fields; anything else is refused. */
  fields: Readonly<Record<string, FieldType>>;
  required: readonly string[];
  /** HTTP status on success (201 for creations). */
  status: 200 | 201;
  /** The gRPC response message (for OpenAPI). */
  response: string;
  run(svc: IamService, caller: Caller | undefined, input: Record<string, unknown>, req: RequestInfo): unknown;
}

/**
 * Declares an operation; `run` receives its input already checked against `fields`.
 * The input's static type is the caller's claim; the runtime checks above make it hold for the
 * field types, the service validates the values.
 */
export function op<I>(spec: Omit<ApiOperation, "run" | "required" | "status"> & { required?: readonly string[]; status?: 200 | 201; run: (svc: IamService, caller: Caller, input: I, req: RequestInfo) => unknown }): ApiOperation {
  return {
    ...spec,
    required: spec.required ?? [],
    status: spec.status ?? (spec.method === "POST" && spec.name.startsWith("Create") ? 201 : 200),
    // `caller` is defined whenever `auth` is true (the transports authenticate first); public
    // operations ignore it. The cast narrows the checked record to the operation's input type.
    run: (svc, caller, input, req) => spec.run(svc, caller as Caller, input as unknown as I, req),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks `input` against the operation's fields: unknown fields refused, required ones present,
 * types as declared (query strings are converted for integer and boolean fields).
 * @throws IAM:InvalidArgument naming the field.
 */
export function checkInput(o: ApiOperation, input: Record<string, unknown>, fromQuery: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, raw] of Object.entries(input)) {
    const type = Object.hasOwn(o.fields, k) ? o.fields[k] : undefined;
    if (type === undefined) throw IamErrors.InvalidArgument(`unknown field ${JSON.stringify(k)} for ${o.name}; accepted: ${Object.keys(o.fields).join(", ") || "none"}`, { details: { field: k } });
    let v = raw;
    if (fromQuery.has(k) && typeof v === "string") {
      if (type === "integer") v = /^-?\d+$/.test(v) ? Number(v) : v;
      if (type === "boolean") v = v === "true" ? true : v === "false" ? false : v;
    }
    const ok =
      type === "string" ? typeof v === "string" :
      type === "integer" ? Number.isSafeInteger(v) :
      type === "boolean" ? typeof v === "boolean" :
      type === "strings" ? Array.isArray(v) && v.every((x) => typeof x === "string") :
      type === "map" ? isObject(v) && Object.values(v).every((x) => typeof x === "string") :
      isObject(v);
    if (!ok) throw IamErrors.InvalidArgument(`field ${JSON.stringify(k)} must be ${type === "strings" ? "a list of strings" : type === "map" ? "an object of strings" : `a ${type}`}`, { details: { field: k } });
    out[k] = v;
  }
  for (const k of o.required) {
    if (out[k] === undefined || out[k] === "") throw IamErrors.InvalidArgument(`field ${JSON.stringify(k)} is required for ${o.name}`, { details: { field: k } });
  }
  return { ...out };
}
