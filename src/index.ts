/**
 * patches-rx: collaborative JSON documents kept in sync through an RxJS pipeline.
 * The one public barrel; `patches-rx/net` and `patches-rx/server` are the other entry points.
 */
export * from './types.js';
export * from './errors.js';
export type { PatchesStore, StoredDoc, ServerChangesUpdate } from './stores/PatchesStore.js';
