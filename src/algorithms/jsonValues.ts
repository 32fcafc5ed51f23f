/**
 * What `change()` records, in the form every other replica gets it: JSON's. A value that JSON
 * writes in another form is recorded in that form, and one JSON cannot hold is refused at once,
 * before anything is shown or stored: a change the wire or the server cannot carry would stay
 * pending for good, ahead of every later edit of its doc.
 */
import { InvalidValueError } from '../errors.js';
import type { JSONPatchOp } from '../types.js';
import { escapeSegment, isForbiddenSegment, pointerDepth } from './jsonPointer.js';

/** How deep a document may nest: the reference server refuses a change that would take it deeper (deeper values overflow the stack when serialised). */
export const MAX_DEPTH = 256;

/** A NUL, or half of a surrogate pair without the other half. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a key (or an id, a path) survives every store as it is: PostgreSQL text holds no NUL
 * and stores half a surrogate pair as U+FFFD (two such keys became one), JSON files too.
 *
 * @example
 * isStorableText('a😀'); // true
 * isStorableText('a\uD800'); // false
 */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/**
 * The ops with every value in its JSON form (`toJSON` applied, so a `Date` is its ISO string;
 * `NaN` and `±Infinity` are `null`, `-0` is `0`; an `undefined` field is left out and an
 * `undefined` or missing array element is `null`; a class instance is its own fields), or the
 * ops themselves when every value already is (the common case: nothing is copied).
 *
 * @throws InvalidValueError for a BigInt, a function or a symbol, a Map or a Set, a value that
 *   contains itself, a key no document may hold (`__proto__`, `prototype`, `constructor`, a NUL,
 *   half of a surrogate pair) in a value or a path, or nesting past `MAX_DEPTH` (counted as the
 *   reference server counts it: a value under a path of up to 3 segments has 253 levels).
 *
 * @example
 * jsonOps([{ op: 'add', path: '/due', value: new Date(0) }]); // [{ op: 'add', path: '/due', value: '1970-01-01T00:00:00.000Z' }]
 * jsonOps([{ op: 'add', path: '/n', value: 10n }]); // throws InvalidValueError
 */
export function jsonOps(ops: JSONPatchOp[]): JSONPatchOp[] {
  let out: JSONPatchOp[] | undefined;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    for (const path of op.from === undefined ? [op.path] : [op.path, op.from]) {
      if (!isStorableText(path)) throw new InvalidValueError('a key holding a NUL or half of a surrogate pair', path);
    }
    if (op.value === undefined) continue;
    const value = jsonValue(op.value, MAX_DEPTH - Math.max(3, pointerDepth(op.path)), new Walk(op.path));
    if (value === undefined) throw new InvalidValueError('a value whose toJSON gives nothing', op.path);
    if (Object.is(value, op.value)) continue;
    out ??= ops.slice();
    out[i] = { ...op, value };
  }
  return out ?? ops;
}

/** Where the walk is (the keys from the op's path down), and the containers it is inside: a cycle is a container met again. */
class Walk {
  private readonly keys: Array<string | number> = [];
  private readonly inside = new Set<object>();

  constructor(private readonly path: string) {}

  enter(container: object, key?: string | number): void {
    if (this.inside.has(container)) throw this.invalid('a value that contains itself (a cycle)', key);
    this.inside.add(container);
    if (key !== undefined) this.keys.push(key);
  }

  leave(container: object, key?: string | number): void {
    this.inside.delete(container);
    if (key !== undefined) this.keys.pop();
  }

  invalid(reason: string, key?: string | number): InvalidValueError {
    const keys = key === undefined ? this.keys : [...this.keys, key];
    return new InvalidValueError(reason, this.path + keys.map(k => `/${escapeSegment(String(k))}`).join(''));
  }
}

/** `value` in its JSON form (`undefined` where JSON writes nothing), the same object where it already is. */
function jsonValue(value: unknown, room: number, walk: Walk, key?: string | number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value;
    case 'number':
      return Number.isFinite(value) ? value + 0 : null; // + 0 turns -0 into 0
    case 'object':
      return value === null ? null : jsonObject(value, room, walk, key);
    default:
      throw walk.invalid(`a ${typeof value === 'bigint' ? 'BigInt' : typeof value}, which JSON cannot hold`, key);
  }
}

function jsonObject(value: object, room: number, walk: Walk, key?: string | number): unknown {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return jsonValue(toJSON.call(value, key === undefined ? '' : String(key)), room, walk, key);
  if (value instanceof Map || value instanceof Set) throw walk.invalid(`a ${value instanceof Map ? 'Map' : 'Set'}, which JSON would write as {}`, key);
  if (room < 1) throw walk.invalid(`values nested deeper than ${MAX_DEPTH} levels`, key);
  walk.enter(value, key);
  try {
    return Array.isArray(value) ? jsonArray(value, room - 1, walk) : jsonRecord(value as Record<string, unknown>, room - 1, walk);
  } finally {
    walk.leave(value, key);
  }
}

function jsonArray(array: unknown[], room: number, walk: Walk): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    const json = jsonValue(item, room, walk, i) ?? null; // undefined and holes: null, as JSON writes them
    if (out) out[i] = json;
    else if (!Object.is(json, item)) {
      out = array.slice(0, i);
      out[i] = json;
    }
  }
  return out ?? (Object.getPrototypeOf(array) === Array.prototype ? array : array.slice());
}

function jsonRecord(record: Record<string, unknown>, room: number, walk: Walk): Record<string, unknown> {
  const proto = Object.getPrototypeOf(record) as unknown;
  // A class instance is written as its own fields, as JSON does: a plain copy.
  let out: Record<string, unknown> | undefined = proto === Object.prototype || proto === null ? undefined : {};
  const keys = Object.keys(record);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    if (isForbiddenSegment(key)) throw walk.invalid(`the key "${key}", which no document may hold`, key);
    if (!isStorableText(key)) throw walk.invalid('a key holding a NUL or half of a surrogate pair', key);
    const item = record[key];
    const json = jsonValue(item, room, walk, key);
    if (out === undefined) {
      if (json !== undefined && Object.is(json, item)) continue;
      out = {};
      for (let j = 0; j < k; j++) out[keys[j]] = record[keys[j]];
    }
    if (json !== undefined) out[key] = json;
  }
  return out ?? record;
}
