/**
 * The default `SizeCalculator`: how many bytes a value takes on the wire as UTF-8 JSON.
 */

/**
 * Counts the UTF-8 bytes of a string without encoding it.
 *
 * Why not `new TextEncoder().encode(s).length` or `Buffer.byteLength`: the first allocates a copy
 * of every payload it measures (batching measures megabytes, many times), the second exists only
 * in Node. Counting UTF-16 code units is exact and allocation-free: below U+0080 one byte, below
 * U+0800 two, a surrogate pair (one astral code point) four, anything else three. A lone
 * surrogate counts three bytes, as U+FFFD, which is what `TextEncoder` writes for it.
 *
 * @example
 * utf8ByteLength('a');   // 1
 * utf8ByteLength('é');   // 2
 * utf8ByteLength('€');   // 3
 * utf8ByteLength('😀');  // 4 (two UTF-16 code units)
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      bytes += 1;
    } else if (unit < 0x800) {
      bytes += 2;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/**
 * The size of `data` in bytes: the UTF-8 length of `JSON.stringify(data)`, the measure that the
 * wire limits (`maxPayloadBytes`) and the anchor's default storage measure use.
 *
 * It stringifies (so `toJSON`, dropped `undefined` keys and escapes count exactly as they will
 * when sent) but counts the bytes of the string without encoding it (see `utf8ByteLength`).
 * Values `JSON.stringify` skips entirely (`undefined`, functions) measure 0.
 *
 * Limits: a circular structure throws the `TypeError` of `JSON.stringify`; a `BigInt` throws too.
 * The string is built once per call, so measuring a huge value costs one serialisation.
 *
 * @example
 * sizeOf({ a: 'é' });  // 10: {"a":"é"} is 9 characters, é takes 2 bytes
 * sizeOf(undefined);   // 0
 */
export function sizeOf(data: unknown): number {
  const json = JSON.stringify(data);
  return json === undefined ? 0 : utf8ByteLength(json);
}

/**
 * About how many bytes `value`'s JSON takes, without building it: keys and strings as UTF-8 plus
 * their quotes, numbers and literals as written, and the punctuation, but not the escapes
 * `sizeOf` counts (a `"` or newline inside a string is one byte here, two there). It walks only
 * until the count passes `limit`, then returns some number above it: a subtree larger than any
 * string can hold costs no more to measure against a limit than the limit (`sizeOf` would
 * serialise it whole, and a copy-doubled one cannot be).
 *
 * @example
 * jsonBytesUpTo({ a: 'xyz' }, 100); // 11: {"a":"xyz"}
 * jsonBytesUpTo([1, 2, 3], 2) > 2;  // true (it stopped counting there)
 */
export function jsonBytesUpTo(value: unknown, limit: number): number {
  let bytes = 0;
  // The containers being measured, each with where it is: a child is read only when its turn comes.
  const stack: Array<{ readonly container: readonly unknown[] | Readonly<Record<string, unknown>>; readonly keys?: readonly string[]; next: number }> = [
    { container: [value], next: 0 },
  ];
  while (stack.length > 0 && bytes <= limit) {
    const top = stack[stack.length - 1];
    const length = top.keys ? top.keys.length : (top.container as readonly unknown[]).length;
    if (top.next === length) {
      stack.pop();
      continue;
    }
    const index = top.next++;
    let child: unknown;
    if (top.keys) {
      const key = top.keys[index];
      bytes += utf8ByteLength(key) + 3;
      child = (top.container as Readonly<Record<string, unknown>>)[key];
    } else {
      child = (top.container as readonly unknown[])[index];
    }
    if (typeof child === 'string') bytes += utf8ByteLength(child) + 2;
    else if (typeof child !== 'object' || child === null) bytes += String(child).length;
    else if (Array.isArray(child)) {
      bytes += 1 + Math.max(1, child.length);
      stack.push({ container: child, next: 0 });
    } else {
      const keys = Object.keys(child);
      bytes += 1 + Math.max(1, keys.length);
      stack.push({ container: child as Record<string, unknown>, keys, next: 0 });
    }
  }
  return bytes;
}
