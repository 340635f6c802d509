/**
 * One API operation, described once and served twice: as a REST route (`rest.ts`) and as a
 * gRPC method (`grpc.ts`), so both transports share validation, semantics and error codes by
 * construction; `openapi.ts` documents the same table. An operation's input is the union of its
 * path parameters, query parameters (GET, DELETE) and JSON body (POST, PATCH), or the gRPC
 * request message's fields: the same names either way.
 *
 * Generic over the service and caller types, so every service declares its own table.
 */
import type { PhotonError } from "../errors.ts";

/** How a field is checked at the boundary (the service checks values further). */
export type FieldType = "string" | "integer" | "boolean" | "strings" | "map" | "object" | "objects";

/** Facts about a request that reach the operation. */
export interface ApiRequest {
  /** The caller's address. */
  source: string;
  /** The `Authorization` header (or gRPC `authorization` metadata), if any. */
  authorization?: string;
}

/** A described operation of service `S` whose authenticated callers are `C`. */
export interface ApiOperation<S, C> {
  /** The gRPC method (`CreateVpc`). */
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Hono path with `:params` (`/v1/vpcs/:id`). */
  path: string;
  summary: string;
  /** False for calls that take no access token. */
  auth: boolean;
  /** Accepted fields; anything else is refused. */
  fields: Readonly<Record<string, FieldType>>;
  required: readonly string[];
  /** HTTP status on success (201 for creations). */
  status: 200 | 201;
  /** The gRPC response message (for OpenAPI). */
  response: string;
  run(svc: S, caller: C | undefined, input: Record<string, unknown>, req: ApiRequest): unknown;
}

/** A service's API: its operations and how callers are authenticated. */
export interface ApiDefinition<S, C> {
  service: S;
  operations: readonly ApiOperation<S, C>[];
  /** Who calls (throws the service's authentication error). */
  authenticate(svc: S, req: ApiRequest): Promise<C>;
  /** The service's invalid-argument error, for bad fields and bodies. */
  invalid(message: string, field?: string): PhotonError;
}

/**
 * Declares an operation; `run` receives its input already checked against `fields` (the static
 * input type is the caller's claim; the runtime checks make it hold for the field types).
 */
export function defineOp<S, C, I>(spec: Omit<ApiOperation<S, C>, "run" | "required" | "status"> & { required?: readonly string[]; status?: 200 | 201; run: (svc: S, caller: C, input: I, req: ApiRequest) => unknown }): ApiOperation<S, C> {
  return {
    ...spec,
    required: spec.required ?? [],
    status: spec.status ?? (spec.method === "POST" && spec.name.startsWith("Create") ? 201 : 200),
    // `caller` is defined whenever `auth` is true (the transports authenticate first).
    run: (svc, caller, input, req) => spec.run(svc, caller as C, input as unknown as I, req),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks `input` against the operation's fields: unknown fields refused, required ones present,
 * types as declared (query strings are converted for integer, boolean and list fields).
 * @throws `invalid(...)` naming the field.
 */
export function checkInput<S, C>(o: ApiOperation<S, C>, input: Record<string, unknown>, invalid: (message: string, field?: string) => PhotonError, fromQuery: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, raw] of Object.entries(input)) {
    const type = Object.hasOwn(o.fields, k) ? o.fields[k] : undefined;
    if (type === undefined) throw invalid(`unknown field ${JSON.stringify(k)} for ${o.name}; accepted: ${Object.keys(o.fields).join(", ") || "none"}`, k);
    let v = raw;
    if (fromQuery.has(k) && typeof v === "string") {
      if (type === "integer") v = /^-?\d+$/.test(v) ? Number(v) : v;
      if (type === "boolean") v = v === "true" ? true : v === "false" ? false : v;
      if (type === "strings") v = v === "" ? [] : (v as string).split(",");
    }
    const ok =
      type === "string" ? typeof v === "string" :
      type === "integer" ? Number.isSafeInteger(v) :
      type === "boolean" ? typeof v === "boolean" :
      type === "strings" ? Array.isArray(v) && v.every((x) => typeof x === "string") :
      type === "map" ? isObject(v) && Object.values(v).every((x) => typeof x === "string") :
      type === "objects" ? Array.isArray(v) && v.every(isObject) :
      isObject(v);
    if (!ok) throw invalid(`field ${JSON.stringify(k)} must be ${type === "strings" ? "a list of strings" : type === "map" ? "an object of strings" : type === "objects" ? "a list of objects" : `a ${type}`}`, k);
    out[k] = v;
  }
  for (const k of o.required) {
    if (out[k] === undefined || out[k] === "") throw invalid(`field ${JSON.stringify(k)} is required for ${o.name}`, k);
  }
  return { ...out };
}
