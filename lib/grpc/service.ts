/**
 * Service definitions: a `.proto` file (loaded at runtime with protobufjs) plus a service name
 * give one `MethodDefinition` per RPC, each holding its path and the request/response codecs,
 * resolved once so that the hot path does no reflection lookups.
 *
 * Message representation (protobufjs conventions, chosen for zero conversion cost per call):
 * - Field names are lowerCamelCase by default (`create_revision` -> `createRevision`, the proto3
 *   JSON mapping); pass `keepCase: true` to keep the names written in the .proto file.
 * - Decoded messages are protobufjs message instances: unset scalar fields read as their
 *   defaults (from the prototype), `bytes` are `Uint8Array` (Buffer views into the received
 *   data), 64-bit integers are `Long` objects (npm `long`), enums are numbers.
 * - Messages to encode are plain objects with the same names; 64-bit fields take a number, a
 *   decimal string or a `Long` (NOT a bigint: protobufjs silently encodes a bigint as 0), enums
 *   take numbers, `bytes` take Uint8Array. Encoding does not validate: a wrong type is encoded
 *   as protobufjs sees it, or throws.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, posix, resolve } from "node:path";
import protobuf from "protobufjs";

/** How a method streams: neither side, the response, the request, or both. */
export type MethodKind = "unary" | "serverStream" | "clientStream" | "bidi";

/**
 * The TypeScript shape of one RPC (a type-level description; no runtime value). Declare a
 * service as an interface of these to get typed handlers and client stubs.
 * @example
 * interface KV { Put: Unary<PutRequest, PutResponse>; Watch: BidiStreaming<WatchRequest, WatchResponse> }
 */
export interface MethodShape<Req = any, Res = any, K extends MethodKind = MethodKind> {
  readonly request: Req;
  readonly response: Res;
  readonly kind: K;
}
/** A unary RPC: one request, one response. */
export type Unary<Req, Res> = MethodShape<Req, Res, "unary">;
/** One request, a stream of responses. */
export type ServerStreaming<Req, Res> = MethodShape<Req, Res, "serverStream">;
/** A stream of requests, one response. */
export type ClientStreaming<Req, Res> = MethodShape<Req, Res, "clientStream">;
/** Streams both ways. */
export type BidiStreaming<Req, Res> = MethodShape<Req, Res, "bidi">;

/** The constraint on a service shape: every member is a MethodShape. */
export type ServiceShape<S> = { [K in keyof S]: MethodShape };

/** The shape used when none is given: any method, any messages. */
export type AnyService = Record<string, MethodShape<any, any, MethodKind>>;

/** The request type of a method shape. */
export type RequestOf<M> = M extends MethodShape<infer Req, any, any> ? Req : never;
/** The response type of a method shape. */
export type ResponseOf<M> = M extends MethodShape<any, infer Res, any> ? Res : never;
/** The kind of a method shape. */
export type KindOf<M> = M extends MethodShape<any, any, infer K> ? K : never;

/** One RPC, resolved: its HTTP/2 path, its kind and its codecs. */
export interface MethodDefinition<Req = any, Res = any, K extends MethodKind = MethodKind> {
  /** Fully-qualified service name, e.g. `etcdserverpb.KV`. */
  readonly service: string;
  /** Method name as in the .proto file, e.g. `Range`. */
  readonly name: string;
  /** The `:path` of its calls: `/etcdserverpb.KV/Range`. */
  readonly path: string;
  readonly kind: K;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  /** Encodes a request (plain object or message) to protobuf bytes; throws on unencodable input. */
  encodeRequest(message: Req): Uint8Array;
  /** Decodes request bytes; throws on malformed input. */
  decodeRequest(bytes: Uint8Array): Req;
  encodeResponse(message: Res): Uint8Array;
  decodeResponse(bytes: Uint8Array): Res;
}

/** The method definitions of a service shape, keyed by method name. */
export type MethodDefinitions<S> = {
  readonly [K in keyof S]: MethodDefinition<RequestOf<S[K]>, ResponseOf<S[K]>, KindOf<S[K]>>;
};

/** A loaded service: its full name, its methods, and the protobufjs root it came from. */
export interface ServiceDefinition<S = AnyService> {
  readonly name: string;
  readonly methods: MethodDefinitions<S>;
  /** Every type of the loaded files, e.g. for `root.lookupType("etcdserverpb.KeyValue")`. */
  readonly root: protobuf.Root;
}

/** Options of `loadService`. */
export interface LoadServiceOptions {
  /** Keep field names as written in the .proto file instead of lowerCamelCase. Default false. */
  keepCase?: boolean;
  /**
   * Directories searched for `import`ed files after the importing file's own directory, like
   * protoc's `-I`. Files protobufjs bundles (google/protobuf/*.proto) are always found.
   */
  includeDirs?: string[];
}

const kindOf = (requestStream: boolean, responseStream: boolean): MethodKind =>
  requestStream ? (responseStream ? "bidi" : "clientStream") : responseStream ? "serverStream" : "unary";

/**
 * Loads `.proto` file(s) and resolves one service of them. Throws if a file or import cannot be
 * found or parsed, or if `serviceName` (fully qualified, e.g. `etcdserverpb.KV`) is not a
 * service in them.
 * @example
 * const kv = loadService<KV>("proto/etcd/rpc.proto", "etcdserverpb.KV", { includeDirs: ["proto"] });
 * server.addService(kv, { Range: async (req, ctx) => ({ kvs: [] }) });
 */
export function loadService<S extends ServiceShape<S> = AnyService>(
  protoPath: string | string[],
  serviceName: string,
  options: LoadServiceOptions = {},
): ServiceDefinition<S> {
  const root = loadRoot(protoPath, options);
  return serviceFromRoot<S>(root, serviceName);
}

/** Loads `.proto` files into a resolved protobufjs Root (see `loadService` for the options). */
export function loadRoot(protoPath: string | string[], options: LoadServiceOptions = {}): protobuf.Root {
  const root = new protobuf.Root();
  const includeDirs = (options.includeDirs ?? []).map((d) => resolve(d));
  root.resolvePath = (origin: string, target: string): string | null => {
    if (isAbsolute(target)) return target;
    const candidates = [origin ? join(dirname(origin), target) : resolve(target), ...includeDirs.map((d) => join(d, target))];
    return candidates.find((c) => existsSync(c)) ?? candidates[0] ?? target;
  };
  const files = (Array.isArray(protoPath) ? protoPath : [protoPath]).map((p) => resolve(p));
  root.loadSync(files, { keepCase: options.keepCase ?? false });
  root.resolveAll();
  return root;
}

/** Options of `loadRootFromSources`. */
export interface LoadSourcesOptions {
  /** Keep field names as written in the .proto file instead of lowerCamelCase. Default false. */
  keepCase?: boolean;
}

/**
 * Parses `.proto` sources held in memory (e.g. files embedded in a compiled executable) into a
 * resolved protobufjs Root. `sources` maps virtual file names (`etcd/rpc.proto`) to their text;
 * `entries` are the names to load. An `import` resolves against the importing file's directory
 * first, then against the root of `sources` (like `-I` at the root); google/protobuf/*.proto are
 * the copies bundled with protobufjs. Throws if an entry or import is missing or does not parse.
 * @example
 * const root = loadRootFromSources({ "a/x.proto": 'syntax = "proto3"; import "y.proto"; ...', "a/y.proto": "..." }, "a/x.proto");
 */
export function loadRootFromSources(sources: Readonly<Record<string, string>>, entries: string | string[], options: LoadSourcesOptions = {}): protobuf.Root {
  const root = new protobuf.Root();
  const loaded = new Set<string>();
  const parseOptions = { keepCase: options.keepCase ?? false };
  const load = (name: string, from: string | null, weak: boolean): void => {
    const candidates = from ? [posix.join(posix.dirname(from), name), posix.normalize(name)] : [posix.normalize(name)];
    const found = candidates.find((c) => Object.hasOwn(sources, c));
    if (found === undefined) {
      const bundled = name.startsWith("google/protobuf/") ? protobuf.common.get(name) : null;
      if (bundled) {
        if (loaded.has(name)) return;
        loaded.add(name);
        root.addJSON(bundled.nested ?? {});
        return;
      }
      if (weak) return;
      throw new Error(from ? `${from}: import "${name}" not found among the proto sources` : `proto source ${name} not found`);
    }
    if (loaded.has(found)) return;
    loaded.add(found);
    const parsed = protobuf.parse(sources[found]!, root, parseOptions);
    for (const imp of parsed.imports ?? []) load(imp, found, false);
    for (const imp of parsed.weakImports ?? []) load(imp, found, true);
  };
  for (const entry of Array.isArray(entries) ? entries : [entries]) load(entry, null, false);
  root.resolveAll();
  return root;
}

/** Resolves `serviceName` in an already loaded root. Throws when it is not a service. */
export function serviceFromRoot<S extends ServiceShape<S> = AnyService>(root: protobuf.Root, serviceName: string): ServiceDefinition<S> {
  const service = root.lookupService(serviceName);
  const fullName = service.fullName.replace(/^\./, "");
  const methods = Object.create(null) as Record<string, MethodDefinition>;
  for (const m of service.methodsArray) {
    m.resolve();
    const req = m.resolvedRequestType;
    const res = m.resolvedResponseType;
    if (!req || !res) throw new Error(`cannot resolve the types of ${fullName}.${m.name}`);
    const requestStream = m.requestStream === true;
    const responseStream = m.responseStream === true;
    methods[m.name] = {
      service: fullName,
      name: m.name,
      path: `/${fullName}/${m.name}`,
      kind: kindOf(requestStream, responseStream),
      requestStream,
      responseStream,
      requestType: req,
      responseType: res,
      encodeRequest: (msg) => req.encode(msg as object).finish(),
      decodeRequest: (bytes) => req.decode(bytes),
      encodeResponse: (msg) => res.encode(msg as object).finish(),
      decodeResponse: (bytes) => res.decode(bytes),
    };
  }
  return { name: fullName, methods: methods as MethodDefinitions<S>, root };
}
