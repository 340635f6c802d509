/** `EtcdNovanetStore`: novanet's documents in chainfire (or etcd), lib/docstore's `EtcdDocStore`. */
import { EtcdDocStore } from "../../lib/docstore/index.ts";
import type { EtcdClientOptions } from "../../lib/etcd/index.ts";
import { NovanetErrors } from "./errors.ts";
import type { NovanetStore } from "./store.ts";

/** Options of the etcd store. */
export interface EtcdNovanetStoreOptions extends EtcdClientOptions {
  /** Transaction attempts before NOVANET:Conflict (default 60). */
  maxAttempts?: number;
}

/** novanet's store in chainfire. */
export class EtcdNovanetStore extends EtcdDocStore implements NovanetStore {
  constructor(options: EtcdNovanetStoreOptions) {
    super({ ...options, conflict: (attempts) => NovanetErrors.Conflict(`concurrent changes conflicted ${attempts} times in a row; retry`, { details: { attempts } }) });
  }
}
