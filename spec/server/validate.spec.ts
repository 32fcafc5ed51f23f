import { MAX_DEPTH, readChanges, readDocId, readDocIds, unstorable } from '../../src/server/validate.js';

/** `levels` objects nested under key `a` (a scalar at the bottom): `levels` deep. */
function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** A path of `segments` segments. */
function pathOf(segments: number): string {
  return '/s'.repeat(segments);
}

function changeWith(path: string, value: unknown): unknown {
  return { id: 'c1', baseRev: 0, ops: [{ op: 'replace', path, value }] };
}

describe('readChanges', () => {
  // A value sits 3 levels down in its change (change → ops → op): the whole change's bound.
  it.each([0, 1, 2, 3])('should accept a value MAX_DEPTH - 3 deep under a path of %i segments and refuse one level more', (segments) => {
    const allowed = Math.min(MAX_DEPTH - 3, MAX_DEPTH - segments);
    expect(readChanges([changeWith(pathOf(segments), nested(allowed))], 10_000_000)).toHaveLength(1);
    expect(() => readChanges([changeWith(pathOf(segments), nested(allowed + 1))], 10_000_000)).toThrow(
      expect.objectContaining({ code: 400, data: { changeId: 'c1', scope: 'change' } }),
    );
  });

  // Found in review: JSON.parse reads 1e400 as Infinity, which the stores and replies write as null.
  it.each(['1e400', '-1e400'])('should refuse a change holding %s anywhere in its values with a 400 naming it', (text) => {
    const values = [`{"op":"add","path":"/x","value":${text}}`, `{"op":"replace","path":"/x","value":{"a":[1,${text}]}}`, `{"op":"test","path":"/x","value":${text}}`];
    for (const op of values) {
      const change = JSON.parse(`{"id":"c1","baseRev":0,"ops":[${op}]}`);
      expect(() => readChanges([change], 10_000)).toThrow(expect.objectContaining({ code: 400, message: expect.stringContaining('JSON cannot write'), data: { changeId: 'c1', scope: 'change' } }));
    }
    const metadata = JSON.parse(`{"id":"c1","baseRev":0,"ops":[{"op":"add","path":"/x","value":1}],"metadata":{"n":${text}}}`);
    expect(() => readChanges([metadata], 10_000)).toThrow(expect.objectContaining({ code: 400 }));
    expect(readChanges([JSON.parse('{"id":"c1","baseRev":0,"ops":[{"op":"add","path":"/x","value":1e300}]}')], 10_000)).toHaveLength(1);
  });

  it('should tell depth from numbers in one walk', () => {
    expect(unstorable({ a: [1, 2, { b: 'x' }] }, 10)).toBeUndefined();
    expect(unstorable({ a: [1, Number.NaN] }, 10)).toBe('number');
    expect(unstorable(Number.POSITIVE_INFINITY, 10)).toBe('number');
    expect(unstorable(nested(5), 4)).toBe('depth');
  });

  // Deeper paths leave less room: path segments and value depth together stay within MAX_DEPTH.
  it.each([4, 10, 200])('should accept a value MAX_DEPTH - %i deep under a path of that many segments and refuse one level more', (segments) => {
    expect(readChanges([changeWith(pathOf(segments), nested(MAX_DEPTH - segments))], 10_000_000)).toHaveLength(1);
    expect(() => readChanges([changeWith(pathOf(segments), nested(MAX_DEPTH - segments + 1))], 10_000_000)).toThrow(
      expect.objectContaining({ code: 400, message: expect.stringContaining('would nest the document deeper'), data: { changeId: 'c1', scope: 'change' } }),
    );
  });

  // A copy or move carries no value: its path's own depth is bounded here, its subtree's where the commit is applied.
  it('should accept a path and a from MAX_DEPTH segments deep and refuse one segment more', () => {
    expect(readChanges([changeWith(pathOf(MAX_DEPTH), 1)], 10_000)).toHaveLength(1);
    expect(readChanges([{ id: 'c1', baseRev: 0, ops: [{ op: 'copy', from: pathOf(MAX_DEPTH), path: pathOf(MAX_DEPTH) }] }], 10_000)).toHaveLength(1);
    for (const op of [{ op: 'remove', path: pathOf(MAX_DEPTH + 1) }, { op: 'copy', from: '/a', path: pathOf(MAX_DEPTH + 1) }, { op: 'move', from: pathOf(MAX_DEPTH + 1), path: '/a' }]) {
      expect(() => readChanges([{ id: 'c1', baseRev: 0, ops: [op] }], 10_000)).toThrow(
        expect.objectContaining({ code: 400, message: expect.stringMatching(/^INVALID_CHANGE: c1: op 0's (path|from) is deeper than 256 levels$/), data: { changeId: 'c1', scope: 'change' } }),
      );
    }
  });

  it('should give op paths and froms written without their leading slash one, and leave the root alone', () => {
    const [read] = readChanges([{ id: 'c1', baseRev: 0, ops: [{ op: 'replace', path: 'a/0', value: 1 }, { op: 'move', from: 'b', path: '/c' }, { op: 'replace', path: '', value: {} }] }], 10_000);
    expect(read.ops).toEqual([{ op: 'replace', path: '/a/0', value: 1 }, { op: 'move', from: '/b', path: '/c' }, { op: 'replace', path: '', value: {} }]);
  });

  it("should give an @txt delta in its { ops } form as its bare ops array, which the transform moves past concurrent edits", () => {
    const [read] = readChanges([{ id: 'c1', baseRev: 0, ops: [{ op: '@txt', path: '/t', value: { ops: [{ retain: 1 }, { insert: 'Z' }] } }] }], 10_000);
    expect(read.ops).toEqual([{ op: '@txt', path: '/t', value: [{ retain: 1 }, { insert: 'Z' }] }]);
  });

  it('should still refuse a forbidden segment and a bad escape in a path', () => {
    expect(() => readChanges([changeWith('/a/__proto__/b', 1)], 10_000)).toThrow(expect.objectContaining({ code: 400, data: { changeId: 'c1', scope: 'change' } }));
    expect(() => readChanges([changeWith('/a~2b', 1)], 10_000)).toThrow(expect.objectContaining({ code: 400, data: { changeId: 'c1', scope: 'change' } }));
  });

  it('should refuse a change one byte over maxChangeBytes with 413 and accept it at the limit', () => {
    const change = changeWith('/a', 'x'.repeat(100));
    const bytes = Buffer.byteLength(JSON.stringify(change));
    expect(readChanges([change], bytes)).toHaveLength(1);
    expect(() => readChanges([change], bytes - 1)).toThrow(expect.objectContaining({ code: 413, data: { changeId: 'c1', scope: 'change' } }));
  });
});

// Found in review, fixed: PostgreSQL stores unpaired surrogates as U+FFFD (two doc ids became one
// key, two change ids one duplicate) and refuses NUL (a server error, or a 503 retried for ever).
describe('ids every store can keep', () => {
  const odd = ['d\uD800', 'd\uDC00x', '\uDBFF', 'a\u0000b'];

  it('should refuse a doc id or a change id holding a NUL or an unpaired surrogate with a 400', () => {
    for (const id of odd) {
      expect(() => readDocId(id)).toThrow(expect.objectContaining({ code: 400 }));
      expect(() => readDocIds([id], 10)).toThrow(expect.objectContaining({ code: 400 }));
      expect(() => readChanges([{ id, baseRev: 0, ops: [] }], 10_000)).toThrow(expect.objectContaining({ code: 400 }));
    }
  });

  it('should take paired surrogates (emoji), other control characters and quotes', () => {
    for (const id of ['notes-😀', 'a\u0001b', "it's \"quoted\"", 'ß∂ƒ/ü']) {
      expect(readDocId(id)).toBe(id);
      expect(readChanges([{ id, baseRev: 0, ops: [] }], 10_000)).toHaveLength(1);
    }
  });

  // Found in review, fixed: an LWW row is keyed by its path, so in PostgreSQL `/a\uD800` and
  // `/a\uDC00` became one row (a field gone after a restart) and a NUL failed every later snapshot.
  it('should refuse an op path or from holding a NUL or an unpaired surrogate with a 400 naming the change and the op', () => {
    for (const key of odd) {
      for (const op of [{ op: 'replace', path: `/f/${key}`, value: 1 }, { op: 'copy', from: `/f/${key}`, path: '/g' }, { op: 'move', from: '/g', path: key }]) {
        expect(() => readChanges([{ id: 'c1', baseRev: 0, ops: [{ op: 'add', path: '/f', value: {} }, op] }], 10_000)).toThrow(
          expect.objectContaining({ code: 400, message: expect.stringMatching(/^INVALID_CHANGE: c1: op 1's (path|from) holds a NUL or an unpaired surrogate$/), data: { changeId: 'c1', scope: 'change' } }),
        );
      }
    }
  });

  it('should take op paths with paired surrogates, other control characters and escapes', () => {
    const ops = ['/notes/😀', '/a\u0001b', '/a~1b~0c', '/ß∂ƒ'].map((path) => ({ op: 'replace', path, value: 1 }));
    expect(readChanges([{ id: 'c1', baseRev: 0, ops: [...ops, { op: 'move', from: '/😀', path: '/x😀' }] }], 10_000)[0].ops).toHaveLength(5);
  });
});
