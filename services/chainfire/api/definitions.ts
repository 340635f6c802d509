/** The etcd v3 gRPC services chainfire serves, loaded once from proto/etcd/rpc.proto. */
import { join } from "node:path";
import { loadRoot, serviceFromRoot } from "../../../lib/grpc/index.ts";

/** Path of etcd's rpc.proto in the repository. */
export const RPC_PROTO = join(import.meta.dir, "..", "..", "..", "proto", "etcd", "rpc.proto");

const root = loadRoot(RPC_PROTO);

/** etcdserverpb.KV */
export const kvService = serviceFromRoot(root, "etcdserverpb.KV");
/** etcdserverpb.Watch */
export const watchService = serviceFromRoot(root, "etcdserverpb.Watch");
/** etcdserverpb.Lease */
export const leaseService = serviceFromRoot(root, "etcdserverpb.Lease");
/** etcdserverpb.Cluster */
export const clusterService = serviceFromRoot(root, "etcdserverpb.Cluster");
/** Path of chainfire's member-to-member API. */
export const INTERNAL_PROTO = join(import.meta.dir, "..", "..", "..", "proto", "chainfire", "internal.proto");

/** chainfire.internal.Forward: what followers ask of the leader. */
export const forwardService = serviceFromRoot(loadRoot(INTERNAL_PROTO), "chainfire.internal.Forward");

/** etcdserverpb.Maintenance */
export const maintenanceService = serviceFromRoot(root, "etcdserverpb.Maintenance");
