/**
 * JSON-RPC 2.0 framing for the reference server (protocol §1.1–§1.3): classifying a decoded
 * frame, building responses, and mapping thrown errors to error objects. Pure functions, no I/O.
 */
import { JSONRPCError, PatchesError, StatusError, StoreError } from '../errors.js';
import { DuplicateChangeIdsError } from './stores/DuplicateChangeIdsError.js';
import { RevConflictError } from './stores/RevConflictError.js';

/** A JSON-RPC id: the server echoes whatever the client sent (anchor clients send integers). */
export type JsonRpcId = string | number | null;

/** The error member of a failed response. */
export interface JsonRpcErrorObject {
  /** Negative: protocol error (-32700, -32600, -32000). Positive: HTTP-style status (400, 403, 409, 410, 413). */
  code: number;
  /** Human-readable message; status errors follow the anchor's texts (`READ_FORBIDDEN:<docId>`). */
  message: string;
  /** Structured details, e.g. `{ scope: 'doc' }` or `{ deletedAt, lastRev }`. */
  data?: unknown;
}

/** A response frame. `result` is absent (not `null`) for methods that return nothing. */
export type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: JsonRpcId; result?: unknown }
  | { jsonrpc: '2.0'; id: JsonRpcId; error: JsonRpcErrorObject };

/** A server → client notification frame (no id). */
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  /** `changesCommitted` or `docDeleted`. */
  method: string;
  /** Always an object carrying `docId`. */
  params: unknown;
}

/** What one decoded JSON value turned out to be. */
export type ClassifiedMessage =
  /** A call that expects a response; `params` is already normalised to positional args. */
  | { kind: 'request'; id: JsonRpcId; method: string; params: unknown[] }
  /** A call without an `id` key: no response is ever sent. */
  | { kind: 'notification'; method: string; params: unknown[] }
  /** Not a valid request: answer -32600 with the id when one could be read. */
  | { kind: 'invalid'; id: JsonRpcId; reason: string };

/** Protocol error codes used by the server. */
export const RpcErrorCode = {
  /** The frame is not JSON. */
  parseError: -32700,
  /** The frame is JSON but not a JSON-RPC 2.0 request. */
  invalidRequest: -32600,
  /** Generic server error; also what the anchor answers for an unknown method (not -32601). */
  serverError: -32000,
} as const;

/**
 * Classifies one decoded JSON value (an element of a batch, or a whole frame).
 *
 * Params are normalised as the anchor does (§1.2): an array is spread as positional args, an
 * absent `params` means no args, and any other value becomes the single first arg (so by-name
 * object params reach the method as its `docId` and are refused there with a 400).
 *
 * @param value the result of `JSON.parse` on a frame
 * @return a request, a notification, or an invalid message with the id to answer with
 */
export function classifyMessage(value: unknown): ClassifiedMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', id: null, reason: 'a request must be an object' };
  }
  const frame = value as Record<string, unknown>;
  const hasId = Object.prototype.hasOwnProperty.call(frame, 'id') && frame.id !== undefined;
  const id = hasId && isValidId(frame.id) ? frame.id : null;
  if (hasId && !isValidId(frame.id)) {
    return { kind: 'invalid', id: null, reason: 'id must be a string, a number or null' };
  }
  if (frame.jsonrpc !== '2.0') return { kind: 'invalid', id, reason: 'jsonrpc must be "2.0"' };
  if (typeof frame.method !== 'string' || frame.method === '') {
    return { kind: 'invalid', id, reason: 'method must be a non-empty string' };
  }
  const params = normaliseParams(frame.params);
  return hasId
    ? { kind: 'request', id, method: frame.method, params }
    : { kind: 'notification', method: frame.method, params };
}

/**
 * Builds a success response. `undefined` results produce a frame without a `result` key, as
 * the anchor serialises void methods (`deleteDoc`).
 */
export function successResponse(id: JsonRpcId, result: unknown): JsonRpcResponse {
  return result === undefined ? { jsonrpc: '2.0', id } : { jsonrpc: '2.0', id, result };
}

/** Builds an error response. */
export function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error };
}

/** Builds a server → client notification. */
export function notification(method: string, params: unknown): JsonRpcNotification {
  return { jsonrpc: '2.0', method, params };
}

/**
 * Maps anything a handler threw to a JSON-RPC error object.
 *
 * `StatusError` and `JSONRPCError` keep their code, message and data (the contract clients
 * branch on). A store fault (see {@link isStoreFault}) is a 500 with its message, scoped to its
 * doc when it names one: the client retries it with backoff and reports it once, as any 500. Our
 * other typed errors keep their message under -32000. Anything else is an
 * unexpected fault: it becomes `-32000 "Server error"` without the message or stack, which the
 * anchor would leak in `data` — internal details stay in the server log.
 *
 * @param error the thrown value
 * @return the error member of the response
 */
export function toErrorObject(error: unknown): JsonRpcErrorObject {
  if (error instanceof StatusError || error instanceof JSONRPCError) {
    return error.data === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, data: error.data };
  }
  if (isStoreFault(error)) return { code: 500, message: error.message, data: { scope: error.docId === undefined ? 'server' : 'doc' } };
  if (error instanceof PatchesError) return { code: RpcErrorCode.serverError, message: error.message };
  return { code: RpcErrorCode.serverError, message: 'Server error' };
}

/**
 * True when `error` is one the server raised on purpose (not an unexpected fault worth logging).
 * A store fault is not: a store that cannot read what it holds (a corrupt line, a hole in a log,
 * a doc stored under the other algorithm) is for the operator to see, not only the client.
 */
export function isExpectedError(error: unknown): boolean {
  if (isStoreFault(error)) return false;
  return error instanceof StatusError || error instanceof JSONRPCError || error instanceof PatchesError;
}

/**
 * True for a `StoreError` saying the store cannot serve what it holds, as opposed to the races a
 * store reports by design (`RevConflictError`, `DuplicateChangeIdsError`), which the server
 * resolves itself.
 */
export function isStoreFault(error: unknown): error is StoreError {
  return error instanceof StoreError && !(error instanceof RevConflictError) && !(error instanceof DuplicateChangeIdsError);
}

/**
 * Reads the request id from the start of a frame without parsing it, for frames too large to
 * parse: anchor clients serialise `{"jsonrpc":"2.0","id":N,…}`, so the id is near the front.
 *
 * @param prefix the first few hundred characters of the frame
 * @return the id, or `null` if none could be read
 */
export function sniffId(prefix: string): JsonRpcId {
  const match = /^\s*\{[^{}[\]]*?"id"\s*:\s*(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.){0,200}")/.exec(prefix);
  if (!match) return null;
  try {
    const id: unknown = JSON.parse(match[1]);
    return isValidId(id) ? id : null;
  } catch {
    return null;
  }
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function normaliseParams(params: unknown): unknown[] {
  if (params === undefined) return [];
  return Array.isArray(params) ? params : [params];
}
