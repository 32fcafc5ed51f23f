import { PatchError } from '../errors.js';
import { fail, OpFailure } from './ops/OpFailure.js';

/**
 * Segments no document may contain: writing them on a plain object would reach
 * `Object.prototype` (prototype pollution), so they are refused wherever a pointer is read or built.
 */
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

/** Whether no pointer may name `key` (see above): a document cannot hold it. */
export function isForbiddenSegment(key: string): boolean {
  return FORBIDDEN_SEGMENTS.has(key);
}

/**
 * Splits a JSON Pointer into unescaped segments, throwing the internal `OpFailure` so
 * `applyPatch` can attach the op index. Exported for the op implementations only.
 */
export function splitPointer(path: string): string[] {
  if (path === '') return [];
  const segments: string[] = [];
  // Builder paths may omit the leading slash (protocol §2.3). Cut with `indexOf`, not `split`: a
  // third of the time on the short paths every op has (each op's path is split a few times).
  let start = path.charCodeAt(0) === 47 /* '/' */ ? 1 : 0;
  for (;;) {
    const end = path.indexOf('/', start);
    const raw = end < 0 ? path.slice(start) : path.slice(start, end);
    const segment = raw.includes('~') ? unescapeSegment(raw) : raw;
    if (FORBIDDEN_SEGMENTS.has(segment)) fail(`forbidden path segment "${segment}"`);
    segments.push(segment);
    if (end < 0) return segments;
    start = end + 1;
  }
}

function unescapeSegment(segment: string): string {
  // RFC 6901 §4: `~1` before `~0`, so `~01` decodes to `~1`, not `/`; any other `~x` is invalid.
  return segment.replace(/~(.?)/g, (_match, next: string) => {
    if (next === '0') return '~';
    if (next === '1') return '/';
    return fail(`invalid escape "~${next}" in JSON Pointer`);
  });
}

/**
 * Parses a JSON Pointer (RFC 6901) into its unescaped segments.
 *
 * `''` is the whole document (`[]`); `~1` decodes to `/` and `~0` to `~`. A path without a leading
 * slash gets one, as builder paths do (protocol §2.3). Segments stay strings: whether `"0"` is an
 * array index depends on the document it is applied to.
 *
 * @throws PatchError (op index -1) for a `__proto__`, `prototype` or `constructor` segment, or
 *   a `~` not followed by `0` or `1`.
 * @example
 * parsePointer('/a~1b/0'); // ['a/b', '0']
 * parsePointer('');        // []
 * parsePointer('a/b');     // ['a', 'b']
 */
export function parsePointer(path: string): string[] {
  try {
    return splitPointer(path);
  } catch (error) {
    if (error instanceof OpFailure) throw new PatchError(error.message, -1, path);
    throw error;
  }
}

/** A key as a JSON Pointer segment writes it (RFC 6901: `~` as `~0`, `/` as `~1`). */
export function escapeSegment(key: string): string {
  // Most keys need no escape: tested first, they cost no regex replace (one per segment of every recorded op).
  if (!key.includes('~') && !key.includes('/')) return key;
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Builds a JSON Pointer from segments, throwing the internal `OpFailure` on a forbidden segment.
 * Exported for the converters in this folder; everyone else uses `formatPointer`.
 */
export function joinPointer(segments: readonly (string | number)[]): string {
  let path = '';
  for (const segment of segments) {
    const text = String(segment);
    if (FORBIDDEN_SEGMENTS.has(text)) fail(`forbidden path segment "${text}"`);
    path += '/' + escapeSegment(text);
  }
  return path;
}

/**
 * Builds a JSON Pointer from segments, escaping `~` as `~0` and `/` as `~1`.
 *
 * Numbers become decimal strings (array indexes). `[]` is the root, `''`.
 *
 * @throws PatchError (op index -1) for a `__proto__`, `prototype` or `constructor` segment, so a
 *   pointer that `parsePointer` would refuse is never built.
 * @example
 * formatPointer(['a/b', 0]); // '/a~1b/0'
 * formatPointer([]);         // ''
 */
export function formatPointer(segments: readonly (string | number)[]): string {
  try {
    return joinPointer(segments);
  } catch (error) {
    if (error instanceof OpFailure) throw new PatchError(error.message, -1, segments.map(String).join('/'));
    throw error;
  }
}

/** The pointer of `key` under `pointer`, or `undefined` for a key no pointer may name (e.g. `__proto__`). */
export function keyPointer(pointer: string, key: string): string | undefined {
  try {
    return pointer + joinPointer([key]);
  } catch (error) {
    if (error instanceof OpFailure) return undefined;
    throw error;
  }
}

/**
 * How many segments a pointer names (its `/`s, read raw: `~1` holds none), so a parent sorts
 * before its children by it.
 *
 * @example
 * pointerDepth('');     // 0
 * pointerDepth('/a/b'); // 2
 */
export function pointerDepth(path: string): number {
  let count = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47 /* '/' */) count++;
  return count;
}
