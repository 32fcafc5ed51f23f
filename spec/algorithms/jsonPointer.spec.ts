import fc from 'fast-check';
import { formatPointer, joinPointer, parsePointer, pointerDepth, splitPointer } from '../../src/algorithms/jsonPointer.js';
import { OpFailure } from '../../src/algorithms/ops/OpFailure.js';
import { PatchError } from '../../src/errors.js';

describe('parsePointer', () => {
  it('should parse the root "" as no segments', () => {
    expect(parsePointer('')).toEqual([]);
  });

  it('should split on "/" and keep segments as strings', () => {
    expect(parsePointer('/a/b/0')).toEqual(['a', 'b', '0']);
  });

  it('should unescape ~1 to "/" and ~0 to "~"', () => {
    expect(parsePointer('/a~1b/m~0n')).toEqual(['a/b', 'm~n']);
  });

  it('should decode ~01 as "~1", not "/" (RFC 6901 order)', () => {
    expect(parsePointer('/~01')).toEqual(['~1']);
  });

  it('should keep empty segments', () => {
    expect(parsePointer('/')).toEqual(['']);
    expect(parsePointer('/a//b/')).toEqual(['a', '', 'b', '']);
  });

  it('should add a missing leading slash', () => {
    expect(parsePointer('a/b')).toEqual(['a', 'b']);
  });

  it('should reject a "~" not followed by 0 or 1', () => {
    expect(() => parsePointer('/a~2')).toThrow(PatchError);
    expect(() => parsePointer('/a~')).toThrow(PatchError);
  });

  it.each(['/__proto__', '/a/constructor', '/prototype/x', '/a/__proto__/b', '__proto__'])(
    'should refuse the forbidden segment in %s',
    (path) => {
      expect(() => parsePointer(path)).toThrow(expect.objectContaining({ name: 'PatchError', opIndex: -1, path }));
    },
  );

  it('should refuse whole decoded segments only', () => {
    expect(parsePointer('/a~1__proto__')).toEqual(['a/__proto__']);
    expect(parsePointer('/__proto__x/constructors')).toEqual(['__proto__x', 'constructors']);
  });

  it('should throw the internal OpFailure from splitPointer so applyPatch can add the op index', () => {
    expect(() => splitPointer('/__proto__')).toThrow(OpFailure);
  });
});

describe('formatPointer', () => {
  it('should format no segments as the root ""', () => {
    expect(formatPointer([])).toBe('');
  });

  it('should escape "~" before "/" and write numbers as decimals', () => {
    expect(formatPointer(['a/b', 'm~n', 0, '~1'])).toBe('/a~1b/m~0n/0/~01');
  });

  it.each([['__proto__'], ['constructor'], ['prototype']])('should refuse %s', (segment) => {
    expect(() => formatPointer(['a', segment])).toThrow(PatchError);
    expect(() => joinPointer(['a', segment])).toThrow(OpFailure);
  });

  it('should round-trip through parsePointer for any segments', () => {
    const segment = fc.string({ unit: fc.constantFrom('a', '/', '~', '0', '1', '_', ' ') });
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), (segments) => {
        fc.pre(!segments.some((s) => ['__proto__', 'constructor', 'prototype'].includes(s)));
        expect(parsePointer(formatPointer(segments))).toEqual(segments);
      }),
      { numRuns: 500, seed: 6901 },
    );
  });
});

describe('pointerDepth', () => {
  it('should count the segments a pointer names, escaped slashes included as none', () => {
    expect(pointerDepth('')).toBe(0);
    expect(pointerDepth('/')).toBe(1);
    expect(pointerDepth('/a/b')).toBe(2);
    expect(pointerDepth('/a~1b/c')).toBe(2);
  });
});
