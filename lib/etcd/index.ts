/**
 * lib/etcd — the etcd v3 client every PhotonCloud service uses to keep its state in chainfire
 * (and which works unchanged against a real etcd ≥ 3.4 cluster).
 *
 * Design constraints:
 * - Built on lib/grpc's client (node:http2), not @grpc/grpc-js, whose per-call CPU cost on Bun
 *   is what control-plane services cannot afford. Contracts: proto/etcd/*.proto (etcd 3.4).
 * - Only etcd's documented wire behaviour is relied upon, never chainfire's extras (such as
 *   the `photon-error-code` trailer): errors are rebuilt from gRPC status + etcd's fixed
 *   descriptions into stable `ETCD:*` codes (errors.ts).
 * - Several endpoints with failover: reads move to the next endpoint on `ETCD:Unavailable`;
 *   writes only when the request provably never reached a server, so nothing applies twice.
 * - Keys and values in as `string | Uint8Array`, out as Uint8Array with string helpers; lease
 *   and member ids as exact bigints; revisions as numbers.
 * - Long-lived work survives broken connections: watches resume from the revision after the
 *   last delivered event (nothing lost, nothing repeated) and keep-alives re-open their
 *   stream, both reporting what cannot be repaired (`ETCD:Compacted`, lease lost).
 * - Large ranges are read page by page at one revision, never all at once.
 *
 * @example
 * import { EtcdClient, Compare, Op } from "../lib/etcd/index.ts";
 * const etcd = new EtcdClient({ endpoints: ["http://127.0.0.1:2379"], timeoutMs: 3000 });
 * if (!(await etcd.create("/photon/iam/orgs/acme", "{}"))) throw new Error("exists");
 * await etcd.updateWithRetry("/photon/iam/orgs/acme", (kv) => JSON.stringify({ ...kv?.json<object>(), plan: "pro" }));
 */
export { EtcdClient, type EtcdClientOptions, type GetOptions } from "./client.ts";
export type { CallControl, ConnectionOptions, EtcdTlsOptions } from "./connection.ts";
export { EtcdErrors, isEtcdError, toEtcdError, type EtcdErrorCode } from "./errors.ts";
export { KeyValue, type ResponseHeader } from "./key-value.ts";
export { prefixEnd, toBytes, toText, type Bytes } from "./bytes.ts";
export type { DeleteOptions, DeleteResult, PutOptions, PutResult, RangeOptions, RangeResult, SortOrder, SortTarget } from "./kv-ops.ts";
export type { CompactOptions } from "./kv.ts";
export type { IterateOptions, RangePage } from "./kv-iterate.ts";
export type { ConditionalPutOptions, UpdateDecision, UpdateOptions, UpdateResult } from "./kv-helpers.ts";
export { Compare, Op, Txn, type CompareOp, type Comparison, type Operation, type OpResult, type TxnResult } from "./txn.ts";
export type { LeaseGrant, LeaseGrantOptions, LeaseStatus, TimeToLiveOptions } from "./lease.ts";
export { KeepAlive, type KeepAliveOptions } from "./lease-keep-alive.ts";
export { Watch, type WatchBatch, type WatchEvent, type WatchFilter, type WatchOptions } from "./watch.ts";
export type { Member, MemberStatus } from "./cluster.ts";
