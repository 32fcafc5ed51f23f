import type { Change, PatchesSnapshot } from '../types.js';
import { JSONRPCError } from '../errors.js';

/*
 * What the client accepts from the server, checked at the edge: a reply or notification of the
 * wrong shape becomes a typed error (or is ignored) instead of a TypeError deep in the pipeline.
 */

/** A list of changes, each at least an object with its ops and rev. */
function isChangeList(value: unknown): value is Change[] {
  return Array.isArray(value) && value.every(c => typeof c === 'object' && c !== null && Array.isArray((c as Change).ops) && typeof (c as Change).rev === 'number');
}

/** A `changesCommitted` payload we can use: a doc id and a list of changes. */
export function isDocChanges(params: unknown): params is { docId: string; changes: Change[] } {
  return typeof params === 'object' && params !== null && typeof (params as { docId?: unknown }).docId === 'string' && isChangeList((params as { changes?: unknown }).changes);
}

/** A server reply that should be a list of changes, or a typed error saying it is not. */
export function changeList(value: unknown, method: string): Change[] {
  if (isChangeList(value)) return value;
  throw new JSONRPCError(-32603, `Malformed ${method} result from the server`, value);
}

/** A `getDoc` reply, or a typed error saying it is malformed. */
export function asSnapshot(value: unknown): PatchesSnapshot {
  if (typeof value !== 'object' || value === null || typeof (value as PatchesSnapshot).rev !== 'number') throw new JSONRPCError(-32603, 'Malformed getDoc result from the server', value);
  const snapshot = value as PatchesSnapshot;
  return { state: snapshot.state ?? null, rev: snapshot.rev, changes: changeList(snapshot.changes ?? [], 'getDoc') };
}

/** The doc id of a notification's params, or '' when it has none. */
export function docIdOf(params: unknown): string {
  return typeof params === 'object' && params !== null && typeof (params as { docId?: unknown }).docId === 'string' ? (params as { docId: string }).docId : '';
}
