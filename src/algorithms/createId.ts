const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A random base-62 id (12 characters by default, ~71 bits), as the anchor mints change ids.
 * Uses `crypto.getRandomValues` (browsers and Node 20+); rejection sampling keeps it unbiased.
 *
 * @example
 * createId();   // 'rFIEeWWlJQvj'
 * createId(8);  // 'x3Vq9LpA'
 */
export function createId(length = 12): string {
  let id = '';
  const bytes = new Uint8Array(length * 2);
  while (id.length < length) {
    crypto.getRandomValues(bytes);
    for (const byte of bytes) {
      // 248 = 62 * 4: bytes above it would favour the first characters.
      if (byte < 248) id += ALPHABET[byte % 62];
      if (id.length === length) break;
    }
  }
  return id;
}
