/**
 * The etcd v3 services the client calls, loaded once from `proto/etcd/rpc.proto` (etcd 3.4's
 * contract). Messages follow protobufjs conventions: camelCase fields, int64 as Long, bytes as
 * Uint8Array (see lib/grpc/service.ts). Message types are declared where each call is made
 * (`Wire*` interfaces), so the shapes here leave them open.
 */
import { serviceFromRoot, type BidiStreaming, type Unary } from "../grpc/index.ts";
import { loadProtoRoot } from "../grpc/protos.ts";

// `any`: each call site states the wire shape it sends and reads (see the module comment).
type U = Unary<any, any>;
type B = BidiStreaming<any, any>;

interface KV { Range: U; Put: U; DeleteRange: U; Txn: U; Compact: U }
interface Watch { Watch: B }
interface Lease { LeaseGrant: U; LeaseRevoke: U; LeaseKeepAlive: B; LeaseTimeToLive: U; LeaseLeases: U }
interface Cluster { MemberList: U }
interface Maintenance { Status: U }

// The embedded copy (lib/grpc/protos.ts): also loads inside a compiled executable.
const root = loadProtoRoot("etcd/rpc.proto");

/** etcdserverpb.KV */
export const kvService = serviceFromRoot<KV>(root, "etcdserverpb.KV");
/** etcdserverpb.Watch */
export const watchService = serviceFromRoot<Watch>(root, "etcdserverpb.Watch");
/** etcdserverpb.Lease */
export const leaseService = serviceFromRoot<Lease>(root, "etcdserverpb.Lease");
/** etcdserverpb.Cluster */
export const clusterService = serviceFromRoot<Cluster>(root, "etcdserverpb.Cluster");
/** etcdserverpb.Maintenance */
export const maintenanceService = serviceFromRoot<Maintenance>(root, "etcdserverpb.Maintenance");
