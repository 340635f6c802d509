/** lib/docstore — services' state as JSON documents with optimistic transactions (doc-store.ts). */
export type { DocChange, DocStore, DocTx } from "./doc-store.ts";
export { EtcdDocStore, type EtcdDocStoreOptions } from "./etcd-doc-store.ts";
