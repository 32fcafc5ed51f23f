/**
 * An error's `name`: `own`, a literal, for an instance of `ctor` itself (a minifier renames
 * classes, so the class name would read `nt` in an app's production build), else the class name
 * of the subclass (yours, or one of ours, which then sets its own literal).
 *
 * @example
 * class NetworkError extends PatchesError {
 *   override name = errorName(this, NetworkError, 'NetworkError');
 * }
 *
 * @param error The error being named.
 * @param ctor The class that names it.
 * @param own That class's name, as a literal.
 * @return The name to set.
 */
export function errorName(error: Error, ctor: abstract new (...args: never[]) => Error, own: string): string {
  return error.constructor === ctor ? own : error.constructor.name;
}
