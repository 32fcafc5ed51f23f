import * as errors from '../errors.js';
import { PatchesError } from '../errors.js';

/**
 * An error as one tab posts it to another: its message (`error`, the one field a tab of an earlier
 * version reads), its class name and its typed fields (`StatusError.code`, `AuthError.closeCode`…).
 * A structured clone keeps neither the class nor those fields.
 */
export interface PostedError {
  /** The message. */
  error: string;
  /** The class name, e.g. `'AuthError'`. */
  name?: string;
  /** The error's own fields, those a structured clone can carry. */
  fields?: Record<string, unknown>;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Every class of `errors.ts`, by its exported name (what its `name` says): what a posted name is
 * rebuilt as. Not by `Class.name`, which an app's minifier renames.
 */
const CLASSES: ReadonlyMap<string, ErrorClass> = new Map(
  (Object.entries(errors) as Array<[string, unknown]>).filter(
    (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && (entry[1] === PatchesError || entry[1].prototype instanceof PatchesError),
  ),
);

/**
 * What `error` is posted as: message, class name and own fields. A field a structured clone
 * cannot carry (a function, a socket in `cause`) is left out; `cause` and `stack` never go.
 *
 * @example
 * postedError(new StatusError(403, 'no')); // { error: 'no', name: 'StatusError', fields: { code: 403, data: undefined } }
 */
export function postedError(error: Error): PostedError {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    const copy = cloneable(value);
    if (copy.ok) fields[key] = copy.value;
  }
  return { error: error.message, name: error.name, fields };
}

/**
 * The error a posted one stands for: an instance of the `errors.ts` class it names (its fields
 * set, its message as posted, no constructor run: a constructor would rewrite the message), or
 * a plain `Error` with that name (`'TypeError'`, a class of a later version).
 *
 * @example
 * revivedError({ error: 'refused', name: 'AuthError', fields: { code: 4401 } }) instanceof AuthError; // true
 */
export function revivedError(posted: PostedError): Error {
  const Class = posted.name === undefined ? undefined : CLASSES.get(posted.name);
  const error = new Error(posted.error);
  if (Class) Object.setPrototypeOf(error, Class.prototype);
  if (posted.name !== undefined) error.name = posted.name;
  return Object.assign(error, posted.fields);
}

/** A field as `postMessage` can carry it: a primitive as is, an object as JSON (what the server sends); anything else not at all. */
function cloneable(value: unknown): { ok: true; value: unknown } | { ok: false } {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { ok: true, value };
  if (typeof value !== 'object') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(JSON.stringify(value)) as unknown };
  } catch {
    return { ok: false };
  }
}
