/**
 * A generic RFC 7047 (OVSDB) client: one persistent connection, JSON-RPC, schema-aware
 * transactions, monitors keeping in-memory replicas, reconnect with re-monitor. Nothing in it is
 * specific to OVN; novanet's OVN driver (dataplane/ovn/) builds on it.
 */
export { OvsdbClient, type OvsdbClientOptions } from "./client.ts";
export { OvsdbErrors } from "./errors.ts";
export { JsonStreamSplitter } from "./json-stream.ts";
export { parseRemote, type OvsdbRemote } from "./remote.ts";
export { Replica, type RowChange } from "./replica.ts";
export * from "./schema.ts";
export { Transaction, type Condition, type Mutation, type OperationResult } from "./transaction.ts";
