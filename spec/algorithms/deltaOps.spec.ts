import { isDelta, normalizeTextDocument, toDeltaOps } from '../../src/algorithms/deltaOps.js';

describe('isDelta', () => {
  it('should accept an array of insert, retain and delete ops', () => {
    expect(isDelta([{ retain: 1 }, { insert: 'a' }, { delete: 2 }, { retain: { image: null } }])).toBe(true);
  });

  it('should reject a legacy { ops } object, which only toDeltaOps unwraps', () => {
    expect(isDelta({ ops: [{ insert: 'a' }] })).toBe(false);
  });
});

describe('toDeltaOps', () => {
  it('should read a bare ops array and a legacy { ops } object', () => {
    const ops = [{ retain: 2 }, { insert: 'x', attributes: { bold: true } }, { delete: 1 }, { insert: { image: 'a.png' } }];
    expect(toDeltaOps(ops)).toBe(ops);
    expect(toDeltaOps({ ops })).toBe(ops);
  });

  it.each([
    ['a string', 'text'],
    ['null', null],
    ['an op with two kinds', [{ insert: 'a', retain: 1 }]],
    ['an op with no kind', [{ attributes: { bold: true } }]],
    ['a zero delete', [{ delete: 0 }]],
    ['a fractional retain', [{ retain: 1.5 }]],
    ['a null insert', [{ insert: null }]],
    ['array attributes', [{ insert: 'a', attributes: [] }]],
    ['a non-object op', ['a']],
  ])('should reject %s', (_label, value) => {
    expect(toDeltaOps(value)).toBeUndefined();
  });
});

describe('normalizeTextDocument', () => {
  it('should return a stored document as is', () => {
    expect(normalizeTextDocument({ ops: [{ insert: 'a\n' }] })).toEqual([{ insert: 'a\n' }]);
    expect(normalizeTextDocument([{ insert: 'a\n' }])).toEqual([{ insert: 'a\n' }]);
  });

  it('should keep an empty { ops } document empty', () => {
    expect(normalizeTextDocument({ ops: [] })).toEqual([]);
  });

  it.each([undefined, null, 'text', 5, [], [{ retain: 1 }], { ops: [{ insert: 'a' }, { delete: 1 }] }])(
    'should start from "\\n" for %p',
    (existing) => {
      expect(normalizeTextDocument(existing)).toEqual([{ insert: '\n' }]);
    },
  );
});
