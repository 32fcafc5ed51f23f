import { parsePointer } from '../jsonPointer.js';
import { fail } from './OpFailure.js';

/** A JSON container: the only values a path can step into. */
export type Container = unknown[] | Record<string, unknown>;

/**
 * What to do about a missing parent on the way to an op's target:
 * - `none`: report it (remove, test and `from` paths never create anything);
 * - `object`: create `{}` (replace and the `@` ops);
 * - `auto`: create `[]` when the key that follows is `0` or `-`, else `{}` (add).
 */
export type CreateMode = 'none' | 'object' | 'auto';

/** A value found at a path, or the fact that nothing is there. */
export type Lookup = { found: true; value: unknown } | { found: false; value: undefined };

const NOT_FOUND: Lookup = { found: false, value: undefined };
const CANONICAL_INDEX = /^(0|[1-9][0-9]*)$/;

/** True for objects and arrays: values a pointer can step into. */
export function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** Own-property test: inherited members such as `toString` never count as document keys. */
export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** A plain JSON object (a container that is not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return isContainer(value) && !Array.isArray(value);
}

/** An own key with a value: a key holding `undefined` is what JSON writes as no key at all. */
export function hasValue(object: Record<string, unknown>, key: string): boolean {
  return hasOwn(object, key) && object[key] !== undefined;
}

/**
 * Parses an array index segment: a canonical decimal (`0`, `12`, never `01`, `-1` or `1e2`,
 * RFC 6901 §4). Returns undefined for anything else, including `-`.
 */
export function arrayIndex(segment: string): number | undefined {
  if (!CANONICAL_INDEX.test(segment)) return undefined;
  const index = Number(segment);
  return Number.isSafeInteger(index) ? index : undefined;
}

function shallowCopy(container: Container): Container {
  // Spread (not Object.assign) defines keys, so an own "__proto__" key stays a plain key.
  return Array.isArray(container) ? container.slice() : { ...container };
}

function newContainer(mode: CreateMode, nextKey: string | undefined): Container {
  return mode === 'auto' && (nextKey === '0' || nextKey === '-') ? [] : {};
}

/**
 * The working copy of one `applyPatch` call: copy-on-write over the input state.
 *
 * Containers copied (or created) during this call are "owned" and are mutated in place by later
 * ops, so a patch of n ops on one array copies it once, not n times. Everything else, the input
 * and values carried by ops, is never written to: that is what keeps inputs (even frozen ones)
 * untouched and untouched subtrees identical (`===`) in the result.
 */
export class PatchDraft {
  /** The current document; the input state until an op changes something. */
  root: unknown;
  /**
   * Set by a caller that throws the whole draft away when an op fails (`applyPatch` in strict
   * mode): then an op made of several steps (move) runs on the draft itself, not on a fork that
   * copies every container on its paths again, since no failed op's half-done steps are ever read.
   */
  discardedOnFailure = false;
  private readonly owned: Set<object>;

  constructor(root: unknown, owned: Set<object> = new Set()) {
    this.root = root;
    this.owned = owned;
  }

  /**
   * A child draft over the same root that owns nothing yet, for ops made of several steps
   * (move): the child copies whatever it writes, so a failed step leaves this draft untouched.
   */
  fork(): PatchDraft {
    return new PatchDraft(this.root);
  }

  /**
   * Whether this draft made `container` (a copy or a new one) and may still write to it: every
   * other container is the input's or an op's, and stays as it is until the draft is done.
   */
  owns(container: object): boolean {
    return this.owned.has(container);
  }

  /** Takes over the result of a fork that succeeded. */
  adopt(child: PatchDraft): void {
    this.root = child.root;
    for (const container of child.owned) this.owned.add(container);
  }

  /**
   * Stops owning `value` and every owned container inside it. Needed before one value is placed
   * at a second path (copy): an owned container reachable twice would be edited in both places.
   */
  release(value: unknown): void {
    if (!isContainer(value) || !this.owned.delete(value)) return;
    // Only owned containers can hold owned children: writes happen in owned containers alone.
    for (const child of Array.isArray(value) ? value : Object.values(value)) this.release(child);
  }

  /** The value at `keys`, without creating or copying anything. */
  get(keys: readonly string[]): Lookup {
    if (keys.length === 0) return this.root === undefined ? NOT_FOUND : { found: true, value: this.root };
    const parent = this.parent(keys, 'none', false);
    return parent === undefined ? NOT_FOUND : childOf(parent, keys[keys.length - 1]);
  }

  /**
   * The container that holds the last segment of `keys` (its parent), for an op to read or write.
   *
   * With `write` false nothing is touched: a parent that `create` would make is returned as a
   * fresh detached container, so an op can validate everything before it writes. With `write`
   * true every container on the way is copied into the draft (once) and missing ones are
   * created, so the returned container may be mutated. Both passes take the same decisions,
   * which is why an op that validated first cannot fail halfway through its write.
   *
   * @returns the parent, or undefined when it is missing and `create` is `none` (with `none`,
   *   a path through a primitive or a bad array index also counts as missing).
   * @throws OpFailure, unless `create` is `none`, when the path crosses a primitive (the root
   *   included), uses a non-index key on an array, or an index past the end of an array.
   */
  parent(keys: readonly string[], create: CreateMode, write: boolean): Container | undefined {
    let container: Container;
    if (isContainer(this.root)) {
      container = write ? (this.root = this.writable(this.root)) : this.root;
    } else {
      if (create === 'none') return undefined;
      if (this.root != null) fail('the document root is not a container');
      // A null (brand-new) document gets a root object on its first write, whatever its first key
      // (protocol §2.4): a map keyed by numeric ids stays a map, as the editor's draft made it.
      container = {};
      if (write) this.own((this.root = container));
    }
    for (let i = 0; i < keys.length - 1; i++) {
      const slot = this.slotOf(container, keys[i], create);
      if (slot === undefined) return undefined;
      const record = container as Record<string | number, unknown>;
      const child = typeof slot === 'number' || hasOwn(container, slot) ? record[slot] : undefined;
      if (isContainer(child)) {
        container = write && !this.owned.has(child) ? (record[slot] = this.writable(child)) : child;
      } else if (child == null) {
        if (create === 'none') return undefined;
        const created = newContainer(create, keys[i + 1]);
        if (write) this.own((record[slot] = created));
        container = created;
      } else {
        if (create === 'none') return undefined;
        fail(`"${keys[i]}" holds a ${typeof child}, which has no children`);
      }
    }
    return container;
  }

  /** Where a mid-path segment leads inside `container`; undefined = missing (create `none`). */
  private slotOf(container: Container, key: string, create: CreateMode): string | number | undefined {
    if (!Array.isArray(container)) return key;
    if (key === '-') {
      // Mid-path `-`: with create on, the last element (or a new one in an empty array), as
      // @dabble/patches does; read-only it names an element that does not exist yet.
      if (create === 'none') return undefined;
      return container.length === 0 ? 0 : container.length - 1;
    }
    const index = arrayIndex(key);
    if (index !== undefined && (index < container.length || (index === container.length && create !== 'none'))) {
      return index;
    }
    if (create === 'none') return undefined;
    return fail(index === undefined ? `"${key}" is not an index into an array` : `array index ${index} is out of bounds`);
  }

  private writable(container: Container): Container {
    if (this.owned.has(container)) return container;
    const copy = shallowCopy(container);
    this.owned.add(copy);
    return copy;
  }

  private own(container: object): void {
    this.owned.add(container);
  }
}

/**
 * The value at a JSON Pointer in `state`, or `undefined` when nothing is there (own keys and
 * in-bounds canonical indexes only, as `childOf` reads them).
 *
 * @example
 * valueAt({ a: [1, { b: 2 }] }, '/a/1/b'); // 2
 */
export function valueAt(state: unknown, pointer: string): unknown {
  let value = state;
  for (const key of parsePointer(pointer)) {
    if (!isContainer(value)) return undefined;
    value = childOf(value, key).value;
  }
  return value;
}

/** Looks up one segment in a container: array segments must be in-bounds canonical indexes. */
export function childOf(container: Container, key: string): Lookup {
  if (Array.isArray(container)) {
    const index = arrayIndex(key);
    return index !== undefined && index < container.length ? { found: true, value: container[index] } : NOT_FOUND;
  }
  return hasOwn(container, key) ? { found: true, value: container[key] } : NOT_FOUND;
}
