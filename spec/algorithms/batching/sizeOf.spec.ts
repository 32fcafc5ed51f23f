import fc from 'fast-check';
import { jsonBytesUpTo, sizeOf, utf8ByteLength } from '../../../src/algorithms/batching/sizeOf.js';

const encoder = new TextEncoder();
const RUNS = { numRuns: 500 };

describe('utf8ByteLength', () => {
  it('should count 1, 2, 3 and 4 byte characters', () => {
    expect(utf8ByteLength('')).toBe(0);
    expect(utf8ByteLength('a')).toBe(1);
    expect(utf8ByteLength('\u007f')).toBe(1);
    expect(utf8ByteLength('\u0080')).toBe(2);
    expect(utf8ByteLength('é')).toBe(2);
    expect(utf8ByteLength('\u07ff')).toBe(2);
    expect(utf8ByteLength('\u0800')).toBe(3);
    expect(utf8ByteLength('€')).toBe(3);
    expect(utf8ByteLength('\uffff')).toBe(3);
    expect(utf8ByteLength('😀')).toBe(4);
    expect(utf8ByteLength('a😀é€')).toBe(1 + 4 + 2 + 3);
  });

  it('should count a lone surrogate as the 3 bytes of U+FFFD, as TextEncoder writes it', () => {
    expect(utf8ByteLength('\ud83d')).toBe(3);
    expect(utf8ByteLength('\ude00x')).toBe(4);
    expect(utf8ByteLength('\ud83d\ud83d\ude00')).toBe(3 + 4);
    expect(utf8ByteLength('\ud83d')).toBe(encoder.encode('\ud83d').length);
  });

  it('should agree with TextEncoder on any string, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(utf8ByteLength(text)).toBe(encoder.encode(text).length);
      }),
      RUNS,
    );
  });
});

describe('sizeOf', () => {
  it('should measure the UTF-8 bytes of the JSON text', () => {
    expect(sizeOf({ a: 'é' })).toBe(10);
    expect(sizeOf([])).toBe(2);
    expect(sizeOf('😀')).toBe(6);
    expect(sizeOf(null)).toBe(4);
  });

  it('should measure what JSON.stringify sends: escapes, toJSON and dropped undefined keys', () => {
    expect(sizeOf('"\n')).toBe('"\\"\\n"'.length);
    expect(sizeOf({ a: undefined, b: 1 })).toBe('{"b":1}'.length);
    expect(sizeOf({ toJSON: () => 'xy' })).toBe(4);
    // A lone surrogate is escaped by JSON.stringify: six ASCII bytes, not three.
    expect(sizeOf('\ud83d')).toBe(8);
  });

  it('should measure 0 for values JSON.stringify skips', () => {
    expect(sizeOf(undefined)).toBe(0);
    expect(sizeOf(() => 1)).toBe(0);
  });

  it('should throw on a circular structure rather than guess', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => sizeOf(circular)).toThrow(TypeError);
  });

  it('should agree with encoding the JSON for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(sizeOf(value)).toBe(encoder.encode(JSON.stringify(value)).length);
      }),
      RUNS,
    );
  });
});

describe('jsonBytesUpTo', () => {
  /** JSON values whose strings and keys need no escape: there the count is exact. */
  const plainText = fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', ' ', '0'), maxLength: 8 });
  const plainJson = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), plainText, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(plainText, tie('value'), { maxKeys: 4 })),
  })).value;

  it('should count what sizeOf counts for values without escapes, when under the limit', () => {
    fc.assert(fc.property(plainJson, (value) => expect(jsonBytesUpTo(value, Infinity)).toBe(sizeOf(value))), RUNS);
  });

  it('should not count escapes (sizeOf does)', () => {
    expect(sizeOf({ a: 'x"y\\z\n' })).toBe(17);
    expect(jsonBytesUpTo({ a: 'x"y\\z\n' }, Infinity)).toBe(14);
  });

  it('should stop past the limit: some number above it, without walking the rest', () => {
    const wide = Array.from({ length: 100_000 }, (_, i) => ({ i }));
    const visited = new Set<unknown>();
    const watched = new Proxy(wide, { get: (target, key, receiver) => (visited.add(key), Reflect.get(target, key, receiver)) });
    expect(jsonBytesUpTo(watched, 50)).toBeGreaterThan(50);
    expect(visited.size).toBeLessThan(100);
    expect(jsonBytesUpTo({ a: 'xyz' }, 11)).toBe(11);
    expect(jsonBytesUpTo({ a: 'xyz' }, 10)).toBeGreaterThan(10);
  });
});
