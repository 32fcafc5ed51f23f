/**
 * Internal failure raised while one op is applied. `applyPatch` turns it into a public
 * `PatchError` carrying the op index and path, which the op code does not know.
 */
export class OpFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpFailure';
  }
}

/** Throws an `OpFailure`; typed `never` so control-flow analysis knows the branch ends. */
export function fail(message: string): never {
  throw new OpFailure(message);
}
