/**
 * Path arithmetic for the OT transform. Transforms run without the document, so the shape of a
 * path is all there is to go on (protocol §2.3): a last segment that is a canonical integer is an
 * array index, `-` is an append, anything else is an object key.
 */

const INDEX_TAIL = /\/(0|[1-9]\d*)$/;

/** True when the last segment of `path` is a canonical integer (`/a/0`, not `/a/01`). */
export function isIndexPath(path: string): boolean {
  return INDEX_TAIL.test(path);
}

/** True for an append pointer (`/arr/-`). */
export function isAppendPath(path: string): boolean {
  return path.endsWith('/-');
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
