/**
 * `patches-rx/net`: the sync coordinator and its transport (also re-exported from `patches-rx`).
 */
export { PatchesSync, type PatchesSyncOptions, type SyncErrorEvent, type RemoteDocDeletedEvent } from './PatchesSync.js';
export { PatchesConnection, type PatchesConnectionOptions, type WebSocketOptions, type LivenessOptions } from './PatchesConnection.js';
export { classifyError, type ErrorAction } from './errorPolicy.js';
export type { PatchesSyncState, SyncedDoc, SyncedDocStatus, SyncingState } from '../types.js';
