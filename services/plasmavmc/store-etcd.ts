/** `EtcdPlasmavmcStore`: plasmavmc's documents in chainfire (or etcd), lib/docstore's `EtcdDocStore`. */
import { EtcdDocStore } from "../../lib/docstore/index.ts";
import type { EtcdClientOptions } from "../../lib/etcd/index.ts";
import { PlasmavmcErrors } from "./errors.ts";
import type { PlasmavmcStore } from "./store.ts";

/** Options of the etcd store. */
export interface EtcdPlasmavmcStoreOptions extends EtcdClientOptions {
  /** Transaction attempts before PLASMAVMC:Conflict (default 60). */
  maxAttempts?: number;
}

/** plasmavmc's store in chainfire. */
export class EtcdPlasmavmcStore extends EtcdDocStore implements PlasmavmcStore {
  constructor(options: EtcdPlasmavmcStoreOptions) {
    super({ ...options, conflict: (attempts) => PlasmavmcErrors.Conflict(`concurrent changes conflicted ${attempts} times in a row; retry`, { details: { attempts } }) });
  }
}
