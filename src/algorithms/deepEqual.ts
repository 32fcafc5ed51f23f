/**
 * Structural equality of two JSON values: the comparison `test`, no-op detection in `add` and
 * `replace`, and soft writes rely on.
 *
 * Objects are equal when they have the same own enumerable keys with equal values, whatever the
 * key order; arrays when they have the same length and equal elements. An array never equals an
 * object. Primitives compare with `===`, so `NaN` never equals itself (JSON has no NaN) and
 * `1` equals `1.0` (they are the same number once parsed). With `inKeyOrder`, objects must also
 * list their keys in the same order (what a view shows when it lists a map's keys).
 *
 * @example
 * deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }); // true
 * deepEqual([], {});                                   // false
 * deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 }, true);     // false
 */
export function deepEqual(a: unknown, b: unknown, inKeyOrder = false): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aIsArray = Array.isArray(a);
  if (aIsArray !== Array.isArray(b)) return false;
  if (aIsArray) {
    const bArray = b as unknown[];
    if (a.length !== bArray.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bArray[i], inKeyOrder)) return false;
    return true;
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const aKeys = Object.keys(aRecord);
  const bKeys = Object.keys(bRecord);
  if (aKeys.length !== bKeys.length) return false;
  if (inKeyOrder) return inOrderEqual(aRecord, bRecord, aKeys, bKeys);
  for (let i = 0; i < aKeys.length; i++) {
    const key = aKeys[i];
    // Own keys only: an inherited `toString` must not make `{}` look like it has one.
    if (!Object.prototype.hasOwnProperty.call(bRecord, key)) return false;
    if (!deepEqual(aRecord[key], bRecord[key], inKeyOrder)) return false;
  }
  return true;
}

/**
 * Objects whose own keys are `aKeys` and `bKeys` (as many), equal in key order: the keys compared
 * first, all of them, then the values. A key listed in both is own in both, so no
 * `hasOwnProperty` per key: on a view's root that is a map of ~190 keys, compared on every reply
 * to an own edit (`PatchesDoc._update`), that is ~⅔ of the time. (`Object.values` instead of the
 * lookups took a fifth, but ~3× as long on an object V8 keeps in dictionary mode, one a key was
 * deleted from, as a map of records whose records come and go is.)
 */
function inOrderEqual(a: Record<string, unknown>, b: Record<string, unknown>, aKeys: string[], bKeys: string[]): boolean {
  for (let i = 0; i < aKeys.length; i++) if (aKeys[i] !== bKeys[i]) return false;
  for (let i = 0; i < aKeys.length; i++) {
    const key = aKeys[i];
    if (!deepEqual(a[key], b[key], true)) return false;
  }
  return true;
}
