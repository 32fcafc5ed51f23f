/**
 * Argument checks for the server's RPC methods. Everything a client sends is untrusted: these
 * functions turn it into typed values or throw the `StatusError` the client will see.
 *
 * Wrong argument types answer **400** `INVALID_REQUEST: …` (not JSON-RPC -32602): the anchor
 * already answers a bad docId with 400, and clients branch on positive codes as status errors.
 * Problems inside one change carry `data: { changeId, scope: 'change' }`, so a client can tell
 * which change to quarantine; oversized changes answer **413** with the same data.
 */
import { StatusError } from '../errors.js';
import { parsePointer } from '../algorithms/jsonPointer.js';
import { toDeltaOps } from '../algorithms/deltaOps.js';
import { isStorableText, MAX_DEPTH } from '../algorithms/jsonValues.js';
import type { JSONPatchOp } from '../types.js';

/**
 * A change as a client may send it, after validation: bookkeeping fields optional, unknown
 * keys (user metadata) preserved. (`ChangeInput` from the shared types, with the field types
 * spelled out.)
 */
export interface IncomingChange {
  /** Client-minted id: the idempotency key. */
  id: string;
  /** The ops. */
  ops: JSONPatchOp[];
  /** The committed rev the change was written on. */
  baseRev?: number;
  /** Provisional client rev. */
  rev?: number;
  /** Mint time (ms epoch); clamped to the server clock. */
  createdAt?: number;
  /** Set on every wire batch of a split upload. */
  batchId?: string;
  /** Metadata and unknown keys. */
  [key: string]: unknown;
}

/** Longest accepted doc id or change id (characters). */
export const MAX_ID_LENGTH = 1024;

/** Deepest accepted nesting of a change's JSON (the client refuses deeper values at `change()`). */
export { MAX_DEPTH };

/** The op names the server accepts (protocol §2.4). */
const KNOWN_OPS: ReadonlySet<string> = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test', '@inc', '@bit', '@max', '@min', '@txt']);

/** Ops that need a `from` pointer. */
const FROM_OPS: ReadonlySet<string> = new Set(['move', 'copy']);

/**
 * Reads the docId argument every document method takes first.
 *
 * @throws StatusError 400 `INVALID_REQUEST: docId is required (got …)`, as the anchor words it
 */
export function readDocId(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw invalid(`docId is required (got ${describe(value)})`);
  }
  if (value.length > MAX_ID_LENGTH) throw invalid(`docId is longer than ${MAX_ID_LENGTH} characters`);
  if (!isStorableText(value)) throw invalid('docId holds a NUL or an unpaired surrogate');
  return value;
}


/**
 * Reads the ids argument of `subscribe`/`unsubscribe`: one id or an array of ids.
 *
 * @throws StatusError 400 when it is neither, or holds a non-string or empty id
 */
export function readDocIds(value: unknown, max: number): string[] {
  const ids = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(ids)) throw invalid(`ids must be a string or an array of strings (got ${describe(value)})`);
  if (ids.length > max) throw invalid(`at most ${max} ids per call (got ${ids.length})`);
  return ids.map((id) => readDocId(id));
}

/**
 * Reads a revision argument (`getChangesSince`'s `rev`).
 *
 * @throws StatusError 400 unless it is a non-negative safe integer
 */
export function readRev(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${name} must be a non-negative integer (got ${describe(value)})`);
  }
  return value;
}

/**
 * Reads `commitChanges`' changes argument: an array of change objects, each with an id, an
 * ops array of well-formed ops (known op name, pointer paths without `__proto__`-style
 * segments), numeric bookkeeping fields, and a JSON size within `maxChangeBytes`.
 *
 * @param value the second positional param
 * @param maxChangeBytes the size limit of one change (UTF-8 bytes of its JSON)
 * @return the changes, unchanged (unknown keys preserved) but for two forms the rules would misread:
 *   op paths written without their leading slash get one (protocol §2.3: `list/0` is `/list/0`;
 *   the transform and the LWW rules compare paths as text, and would take the two for different
 *   places), and an `@txt` delta in its `{ ops }` form (a serialised Quill `Delta`, accepted on
 *   read, §2.4) becomes its bare ops array, which the transform moves past concurrent edits (the
 *   reference's leaves the `{ ops }` form where it was written, as the transform corpus records)
 * @throws StatusError 400 for a malformed change, 413 `{ changeId, scope: 'change' }` for an oversized one
 */
export function readChanges(value: unknown, maxChangeBytes: number): IncomingChange[] {
  if (!Array.isArray(value)) throw invalid(`changes must be an array (got ${describe(value)})`);
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    if (!isPlainObject(item)) throw invalid(`change ${index} must be an object (got ${describe(item)})`);
    const id = item.id;
    if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) {
      throw invalid(`change ${index} needs a string id (got ${describe(id)})`);
    }
    if (!isStorableText(id)) throw invalid(`change ${index}'s id holds a NUL or an unpaired surrogate`);
    if (!Array.isArray(item.ops)) throw changeError(id, `ops must be an array (got ${describe(item.ops)})`);
    for (const field of ['baseRev', 'rev'] as const) {
      const rev = item[field];
      if (rev !== undefined && (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 0)) {
        throw changeError(id, `${field} must be a non-negative integer (got ${describe(rev)})`);
      }
    }
    if (item.createdAt !== undefined && (typeof item.createdAt !== 'number' || !Number.isFinite(item.createdAt))) {
      throw changeError(id, `createdAt must be a number (got ${describe(item.createdAt)})`);
    }
    if (item.batchId !== undefined && typeof item.batchId !== 'string') {
      throw changeError(id, `batchId must be a string (got ${describe(item.batchId)})`);
    }
    const unfit = unstorable(item, MAX_DEPTH);
    if (unfit === 'depth') throw changeError(id, `values nest deeper than ${MAX_DEPTH} levels`);
    // JSON.parse reads `1e400` as Infinity, which every store and reply would write as null: the
    // server's memory would hold another value than its clients and its store (found in review:
    // the document no longer loaded once it left the cache).
    if (unfit === 'number') throw changeError(id, 'holds a number JSON cannot write (out of range: Infinity or NaN)');
    (item.ops as unknown[]).forEach((op, opIndex) => {
      checkOp(id, op, opIndex);
      canonical(op);
    });
    const bytes = Buffer.byteLength(JSON.stringify(item));
    if (bytes > maxChangeBytes) {
      throw new StatusError(413, `Change ${id} is ${bytes} bytes, over the ${maxChangeBytes}-byte limit`, { changeId: id, scope: 'change' });
    }
    if (seen.has(id)) throw changeError(id, 'the same change id appears twice in one request');
    seen.add(id);
    return item as IncomingChange;
  });
}

/** The error for a malformed part of one change. */
export function changeError(changeId: string, reason: string): StatusError {
  return new StatusError(400, `INVALID_CHANGE: ${changeId}: ${reason}`, { changeId, scope: 'change' });
}

/** A 400 `INVALID_REQUEST` error. */
export function invalid(reason: string): StatusError {
  return new StatusError(400, `INVALID_REQUEST: ${reason}`);
}

function checkOp(changeId: string, value: unknown, index: number): asserts value is JSONPatchOp {
  if (!isPlainObject(value)) throw changeError(changeId, `op ${index} must be an object`);
  const { op, path, from } = value;
  if (typeof op !== 'string' || !KNOWN_OPS.has(op)) throw changeError(changeId, `op ${index} has an unknown op ${describe(op)}`);
  if (typeof path !== 'string') throw changeError(changeId, `op ${index} needs a string path`);
  const pathDepth = checkPointer(changeId, path, index, 'path');
  if (FROM_OPS.has(op) || from !== undefined) {
    if (typeof from !== 'string') throw changeError(changeId, `op ${index} (${op}) needs a string from`);
    checkPointer(changeId, from, index, 'from');
  }
  if (op !== 'remove' && !FROM_OPS.has(op) && value.value === undefined) {
    throw changeError(changeId, `op ${index} (${op}) needs a value`);
  }
  // Depth accumulates across commits: a value written under a deep path must not push the
  // document past MAX_DEPTH, or serialising a snapshot would overflow the stack. (Within 3
  // segments the whole change's check already covered it: the value sits 3 levels deep in it.)
  if (value.value !== undefined && pathDepth > 3 && exceedsDepth(value.value, MAX_DEPTH - pathDepth)) {
    throw changeError(changeId, `op ${index} would nest the document deeper than ${MAX_DEPTH} levels`);
  }
  if ((op === '@inc' || op === '@bit') && !isFiniteNumber(value.value)) throw changeError(changeId, `op ${index} (${op}) needs a finite number`);
  if ((op === '@max' || op === '@min') && !isFiniteNumber(value.value) && typeof value.value !== 'string') {
    throw changeError(changeId, `op ${index} (${op}) needs a number or a string`);
  }
  if (op === '@txt' && toDeltaOps(value.value) === undefined) throw changeError(changeId, `op ${index} (@txt) needs a Quill delta ops array`);
  if (value.ts !== undefined && (typeof value.ts !== 'number' || !Number.isFinite(value.ts))) {
    throw changeError(changeId, `op ${index} has a non-numeric ts`);
  }
}

/** Writes an op in the form the rules read (see `readChanges`): paths with their leading slash (the root `''` stays), `@txt` deltas as bare arrays. */
function canonical(op: JSONPatchOp): void {
  if (op.path !== '' && !op.path.startsWith('/')) op.path = `/${op.path}`;
  if (op.from !== undefined && op.from !== '' && !op.from.startsWith('/')) op.from = `/${op.from}`;
  if (op.op === '@txt' && !Array.isArray(op.value)) op.value = toDeltaOps(op.value);
}

/**
 * Checks a pointer (at most MAX_DEPTH segments); returns its number of segments. Its keys must
 * be storable as ids are (an LWW row is keyed by its path: in PostgreSQL two paths with different
 * unpaired surrogates became one row, and one with a NUL failed every later snapshot), for every
 * store and algorithm alike.
 */
function checkPointer(changeId: string, path: string, index: number, name: 'path' | 'from'): number {
  if (!isStorableText(path)) throw changeError(changeId, `op ${index}'s ${name} holds a NUL or an unpaired surrogate`);
  let depth: number;
  try {
    depth = parsePointer(path).length;
  } catch (error) {
    throw changeError(changeId, `op ${index}: ${(error as Error).message}`);
  }
  // A path is as deep as the containers it steps through: a value under it nests that deep at least.
  if (depth > MAX_DEPTH) throw changeError(changeId, `op ${index}'s ${name} is deeper than ${MAX_DEPTH} levels`);
  return depth;
}

/** Whether `value` nests deeper than `limit` (iterative: a hostile value cannot overflow the stack here). */
export function exceedsDepth(value: unknown, limit: number): boolean {
  return unstorable(value, limit) === 'depth';
}

/**
 * What of `value` no store can keep as it is, in one walk: `'depth'` when it nests deeper than
 * `limit`, `'number'` when it holds a number JSON cannot write (Infinity, NaN: JSON writes null),
 * else undefined. Iterative: a hostile value cannot overflow the stack here.
 *
 * @example
 * unstorable(JSON.parse('{"x":1e400}'), 256); // 'number'
 */
export function unstorable(value: unknown, limit: number): 'depth' | 'number' | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return 'number';
  const stack: Array<[unknown, number]> = [[value, 1]];
  let number = false;
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return 'depth';
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
      else if (typeof child === 'number' && !Number.isFinite(child)) number = true;
    }
  }
  return number ? 'number' : undefined;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value === '') return 'empty string';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number') return String(value);
  return typeof value;
}
