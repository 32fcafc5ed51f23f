/**
 * patches-rx: collaborative JSON documents kept in sync through an RxJS pipeline.
 * The one public barrel; `patches-rx/net`, `patches-rx/txt` and `patches-rx/server` are the other entry points.
 */
export * from './types.js';
export * from './errors.js';

// Client
export { Patches, type PatchesOptions, type PatchesDocOptions, type OpenDocOptions, type CloseDocOptions, type LocalChangeEvent, type TrackEvent, type PatchesErrorEvent } from './client/Patches.js';
export type { ErrorContext } from './client/listen.js';
export { PatchesDoc, type OptimisticChange, type DocLayers } from './client/PatchesDoc.js';
export type { ClientAlgorithm, InstallResult, RegressedRevs } from './client/ClientAlgorithm.js';

// Stores
export type { PatchesStore, StoredDoc, StoredDocSince, StoredQueue, ServerChangesUpdate } from './stores/PatchesStore.js';
export { InMemoryStore } from './stores/InMemoryStore.js';
export { IndexedDBStore } from './stores/IndexedDBStore.js';
// A subclass of IndexedDBStore appends its own schema steps to these (see `IndexedDBStore.migrations`).
export { IDB_MIGRATIONS, IDB_SCHEMA_VERSION, type IDBStoreMigration } from './stores/idbSchema.js';

// Sync
export * from './net/index.js';

// Algorithms (pure)
export { applyPatch, type ApplyPatchOptions } from './algorithms/applyPatch.js';
export { parsePointer, formatPointer } from './algorithms/jsonPointer.js';
export { transformPatch } from './algorithms/transformPatch.js';
export { rebaseChanges } from './algorithms/rebaseChanges.js';
export { applyCommittedChanges, type AppliedCommittedChanges, type ApplyCommittedOptions } from './algorithms/applyCommittedChanges.js';
export { consolidateOps, consolidateFieldOp } from './algorithms/lww/consolidateOps.js';
export { mergeServerWithLocal } from './algorithms/lww/mergeServerWithLocal.js';
export { breakChanges } from './algorithms/batching/breakChanges.js';
export { breakChangesIntoBatches } from './algorithms/batching/breakChangesIntoBatches.js';
export { createChange, type CreateChangeOptions } from './algorithms/createChange.js';
export { createId } from './algorithms/createId.js';

// Operators and streams, for apps composing their own pipelines
export { backoffRetry, type BackoffRetryConfig } from './operators/backoffRetry.js';
export { serialGate, type SerialGateOptions } from './operators/serialGate.js';
export { batchChanges } from './operators/batchChanges.js';
export { dispatchByAlgorithm } from './operators/dispatchByAlgorithm.js';
export { online$ } from './streams/online.js';
export { liveness, pingFrame, type LivenessConfig } from './operators/liveness.js';
export { wakeups$, type WakeReason, type WakeTarget } from './streams/wakeups.js';
