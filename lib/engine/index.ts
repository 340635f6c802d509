/**
 * PhotonCloud's storage engine: an ordered key-value store (RocksDB through the native addon)
 * built for crossing the JS/native boundary per batch. See kv-engine.ts for the contract.
 */
export type { EngineOpenOptions, KvEngine, KvPair, KvReader, ScanOptions, ScanPage, Snapshot, WriteBatch } from "./kv-engine.ts";
export { RocksEngine } from "./rocks-engine.ts";
export { EngineErrors } from "./errors.ts";
export { prefixEnd } from "./codec.ts";
