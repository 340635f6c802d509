/**
 * The OpenAPI 3.1 document of a REST API, derived from its operation table (paths, methods,
 * parameters) and its .proto (schemas), so it cannot drift from either.
 */
import type protobuf from "protobufjs";
import type { ServiceDefinition } from "../grpc/index.ts";
import type { OperationRpc } from "./grpc.ts";
import type { ApiOperation } from "./operation.ts";

type Schema = Record<string, unknown>;

const SCALARS: Record<string, Schema> = {
  string: { type: "string" },
  bool: { type: "boolean" },
  int32: { type: "integer", format: "int32" },
  int64: { type: "integer", format: "int64" },
  uint32: { type: "integer" },
  uint64: { type: "integer" },
  double: { type: "number" },
  float: { type: "number" },
  bytes: { type: "string", format: "byte" },
};

function fieldSchema(f: protobuf.Field): Schema {
  const one = (t: string, resolved: protobuf.Type | protobuf.Enum | null): Schema => SCALARS[t] ?? (resolved ? { $ref: `#/components/schemas/${resolved.name}` } : { type: "object" });
  if (f.map) return { type: "object", additionalProperties: one(f.type, f.resolvedType) };
  const s = one(f.type, f.resolvedType);
  return f.repeated ? { type: "array", items: s } : s;
}

function typeSchema(t: protobuf.Type, omit: ReadonlySet<string> = new Set()): Schema {
  const properties: Record<string, Schema> = {};
  for (const f of t.fieldsArray) if (!omit.has(f.name)) properties[f.name] = fieldSchema(f);
  return { type: "object", additionalProperties: false, properties };
}

/** What the document says about the API. */
export interface OpenApiInfo {
  title: string;
  description: string;
  /** The proto package whose messages become schemas (`photon.novanet.v1`). */
  protoPackage: string;
  /** An example error code (`NOVANET:NotFound`) and where the codes are listed. */
  exampleCode: string;
  errorsFile: string;
}

/** The OpenAPI document of `operations` served by the gRPC `service`. */
export function operationsOpenApi<S, C>(service: ServiceDefinition<OperationRpc>, operations: readonly ApiOperation<S, C>[], info: OpenApiInfo): object {
  const schemas: Record<string, Schema> = {};
  const addTypes = (ns: protobuf.NamespaceBase) => {
    for (const n of ns.nestedArray) {
      if ((n as protobuf.Type).fieldsArray) schemas[n.name] = typeSchema(n as protobuf.Type);
      if ((n as protobuf.Namespace).nestedArray) addTypes(n as protobuf.Namespace);
    }
  };
  addTypes(service.root.lookup(info.protoPackage) as protobuf.Namespace);
  schemas.Error = {
    type: "object",
    properties: { error: { type: "object", properties: { code: { type: "string", example: info.exampleCode }, message: { type: "string" }, details: { type: "object" } }, required: ["code", "message"] } },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of operations) {
    const path = o.path.replace(/:([A-Za-z]+)/g, "{$1}");
    const pathParams = [...o.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
    const method = service.methods[o.name]!;
    const parameters: unknown[] = pathParams.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
    let requestBody: unknown;
    if (o.method === "GET" || o.method === "DELETE") {
      for (const [name, type] of Object.entries(o.fields)) {
        if (!pathParams.includes(name)) parameters.push({ name, in: "query", required: o.required.includes(name), schema: { type: type === "integer" ? "integer" : type === "boolean" ? "boolean" : "string" } });
      }
    } else if (Object.keys(o.fields).length > 0) {
      const schema = typeSchema(method.requestType, new Set(pathParams));
      requestBody = { required: true, content: { "application/json": { schema: { ...schema, required: o.required.filter((r) => !pathParams.includes(r)) } } } };
    }
    paths[path] ??= {};
    paths[path]![o.method.toLowerCase()] = {
      operationId: o.name,
      summary: o.summary,
      ...(o.auth ? {} : { security: [] }),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        [String(o.status)]: { description: "OK", content: { "application/json": { schema: { $ref: `#/components/schemas/${o.response}` } } } },
        default: { description: `Error (the code is stable; see ${info.errorsFile})`, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: "v1", description: info.description },
    components: { schemas, securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    security: [{ bearer: [] }],
    paths,
  };
}
