/**
 * The etcd v3 gRPC services chainfire serves, loaded once from proto/etcd/rpc.proto, and
 * chainfire's member-to-member API (proto/chainfire/internal.proto). Both come from the embedded
 * copies (lib/grpc/protos.ts), so they also load inside a compiled executable.
 */
import { serviceFromRoot } from "../../../lib/grpc/index.ts";
import { loadProtoRoot, PROTO_FILES } from "../../../lib/grpc/protos.ts";

/** Path of etcd's rpc.proto (the embedded copy inside a compiled executable). */
export const RPC_PROTO: string = PROTO_FILES["etcd/rpc.proto"]!;

const root = loadProtoRoot("etcd/rpc.proto");

/** mvccpb.Event and etcdserverpb.ResponseHeader, for the watch's pre-encoded responses. */
export const eventType = root.lookupType("mvccpb.Event");
export const responseHeaderType = root.lookupType("etcdserverpb.ResponseHeader");

/** etcdserverpb.KV */
export const kvService = serviceFromRoot(root, "etcdserverpb.KV");
/** etcdserverpb.Watch */
export const watchService = serviceFromRoot(root, "etcdserverpb.Watch");
/** etcdserverpb.Lease */
export const leaseService = serviceFromRoot(root, "etcdserverpb.Lease");
/** etcdserverpb.Cluster */
export const clusterService = serviceFromRoot(root, "etcdserverpb.Cluster");
/** Path of chainfire's member-to-member API (the embedded copy inside a compiled executable). */
export const INTERNAL_PROTO: string = PROTO_FILES["chainfire/internal.proto"]!;

/** chainfire.internal.Forward: what followers ask of the leader. */
export const forwardService = serviceFromRoot(loadProtoRoot("chainfire/internal.proto"), "chainfire.internal.Forward");

/** etcdserverpb.Maintenance */
export const maintenanceService = serviceFromRoot(root, "etcdserverpb.Maintenance");
