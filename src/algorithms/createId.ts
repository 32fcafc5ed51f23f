const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random bytes drawn per `crypto.getRandomValues` call: one call costs ~5–10 µs in Node, whatever its size. */
const POOL_BYTES = 4096;

let pool = new Uint8Array(0);
let used = 0;

/** The next random byte, drawing a new pool when this one is used up. */
function nextByte(): number {
  if (used === pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  return pool[used++];
}

/**
 * A random base-62 id (12 characters by default, ~71 bits), as the anchor mints change ids.
 * Uses `crypto.getRandomValues` (browsers and Node 20+), drawn 4 KB at a time, since one id per
 * edit made the draw a tenth of `change()`'s time; rejection sampling keeps it unbiased.
 *
 * @example
 * createId();   // 'rFIEeWWlJQvj'
 * createId(8);  // 'x3Vq9LpA'
 */
export function createId(length = 12): string {
  let id = '';
  while (id.length < length) {
    const byte = nextByte();
    // 248 = 62 * 4: bytes above it would favour the first characters.
    if (byte < 248) id += ALPHABET[byte % 62];
  }
  return id;
}

/** @internal Drops the bytes drawn but not used yet, so the next id draws afresh (for specs that stub `crypto`). */
export function dropIdPool(): void {
  pool = new Uint8Array(0);
  used = 0;
}
