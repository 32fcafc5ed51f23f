/**
 * `patches-rx/server`: the reference server (Node only). JSON-RPC 2.0 over WebSocket, OT and
 * LWW documents on one endpoint, durable file storage by default, PostgreSQL for several processes.
 *
 * ## Example
 * ```ts
 * import { startServer, MemoryServerStore } from 'patches-rx/server';
 * const server = await startServer({ port: 8787, store: new MemoryServerStore() });
 * console.log(server.url); // ws://127.0.0.1:8787
 * ```
 */
export { startServer, byIdPrefix } from './startServer.js';
export { healthCheck, HEALTH_PATH } from './healthCheck.js';
export { SERVER_PER_MESSAGE_DEFLATE, ALL_FRAMES_PER_MESSAGE_DEFLATE } from './wireCompression.js';
export type { PerMessageDeflateOptions, ZlibSettings } from './wireCompression.js';
export { enableRichText } from '../txt/enableRichText.js';
export type { StartServerOptions, ServerOptions, RunningServer, ServerStats } from './startServer.js';
export type { Connection, Authorize, AuthorizeConnection, AlgorithmFor } from './ServerCore.js';
export { ServerCore } from './ServerCore.js';
export type { ServerCoreOptions } from './ServerCore.js';
export { MemoryServerStore } from './stores/MemoryServerStore.js';
export { FileServerStore } from './stores/FileServerStore.js';
export { documentDirectory } from './stores/docFiles.js';
export type { FileServerStoreOptions } from './stores/FileServerStore.js';
export { PostgresServerStore } from './stores/postgres/PostgresServerStore.js';
export type { PostgresServerStoreOptions } from './stores/postgres/PostgresServerStore.js';
export { PostgresStartupError } from './stores/postgres/PostgresStartupError.js';
export { RevConflictError } from './stores/RevConflictError.js';
export { DuplicateChangeIdsError } from './stores/DuplicateChangeIdsError.js';
export { entryFirstRev, entryLastRev } from './stores/ServerStore.js';
export type { ServerStore, StoreEvent, CarriedEntry, StoredDoc, LogEntry, OTLogEntry, LWWLogEntry, DocSnapshot, OTSnapshot, LWWSnapshot } from './stores/ServerStore.js';
export type { DocServiceStats, CallOrigin, Announce } from './docs/DocService.js';
export { MAX_TRANSFORM_WORK } from './docs/OTDocService.js';
export type { TransformIncoming } from './docs/OTDocService.js';
export type { IncomingChange } from './validate.js';
export { RpcErrorCode } from './jsonRpc.js';
export type { JsonRpcId, JsonRpcErrorObject, JsonRpcResponse, JsonRpcNotification } from './jsonRpc.js';
