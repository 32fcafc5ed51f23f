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
