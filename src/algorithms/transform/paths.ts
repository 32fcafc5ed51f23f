/**
 * Path arithmetic for the OT transform. Transforms run without the document, so the shape of a
 * path is all there is to go on (protocol §2.3): a last segment that is a canonical integer is an
 * array index, `-` is an append, anything else is an object key.
 */

const INDEX_TAIL = /\/(0|[1-9]\d*)$/;
const CANONICAL_INDEX = /^(0|[1-9]\d*)$/;

/** True when the last segment of `path` is a canonical integer (`/a/0`, not `/a/01`). */
export function isIndexPath(path: string): boolean {
  return INDEX_TAIL.test(path);
}

/** True for an append pointer (`/arr/-`). */
export function isAppendPath(path: string): boolean {
  return path.endsWith('/-');
}

/** The pointer of the container holding `path` (`/a/b/3` → `/a/b`). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The array index at the end of an index path. */
export function lastIndex(path: string): number {
  return Number(path.slice(path.lastIndexOf('/') + 1));
}

/**
 * True when `path` is `ancestor` itself or lies inside it. Segment-aware: `/ab` is not inside
 * `/a`. The root `''` contains every real pointer (those start with `/`) but no stash path.
 */
export function isAncestorOrSelf(ancestor: string, path: string): boolean {
  if (path.length === ancestor.length) return path === ancestor;
  return path.length > ancestor.length && path.charCodeAt(ancestor.length) === 47 && path.startsWith(ancestor);
}

/** True when `path` lies strictly inside `ancestor`. */
export function isStrictAncestor(ancestor: string, path: string): boolean {
  return path.length > ancestor.length && isAncestorOrSelf(ancestor, path);
}

/** Where `path` sits in the array at `array`: the index segment right below it. */
export interface ChildIndex {
  /** The index, or undefined when the segment is not a canonical integer (`-`, a key). */
  index: number | undefined;
  /** Offset in `path` just after that segment. */
  end: number;
  /** True when `path` ends at that segment (it addresses the element itself). */
  exact: boolean;
}

/** Reads the segment of `path` right below `array`; undefined when `path` is not inside `array`. */
export function childIndex(array: string, path: string): ChildIndex | undefined {
  if (!isStrictAncestor(array, path)) return undefined;
  const start = array.length + 1;
  const slash = path.indexOf('/', start);
  const end = slash < 0 ? path.length : slash;
  const segment = path.slice(start, end);
  return { index: CANONICAL_INDEX.test(segment) ? Number(segment) : undefined, end, exact: end === path.length };
}

/** `path` with the index segment below `array` replaced by `index`. */
export function withIndex(path: string, array: string, index: number, end: number): string {
  return `${array}/${index}${path.slice(end)}`;
}

/** `path` (inside `from`) moved to the same place inside `to`. */
export function reroot(path: string, from: string, to: string): string {
  return to + path.slice(from.length);
}

/** The part of `path` up to and including its last `/` (`/a/b/3` → `/a/b/`). */
export function prefixOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1);
}

/**
 * The array index right after `prefixLength` characters of `path` (`/a/3/x`, 3 → index 3, end
 * 4), or undefined when that segment is not a canonical integer.
 */
export function indexAfter(path: string | undefined, prefixLength: number): { index: number; end: number } | undefined {
  if (path === undefined) return undefined;
  const slash = path.indexOf('/', prefixLength);
  const end = slash < 0 ? path.length : slash;
  if (!isIndexPath(path.slice(0, end))) return undefined;
  return { index: Number(path.slice(prefixLength, end)), end };
}
