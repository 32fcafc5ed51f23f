import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';
import { enableRichText } from '../../../src/txt/enableRichText.js';

// @txt goes through quill-delta once enabled, as in an app (`patches-rx/txt`).
beforeAll(enableRichText);

describe('@txt', () => {
  it('should compose a delta onto a stored { ops } document', () => {
    const state = { body: { ops: [{ insert: 'Hello\n' }] } };
    const next = applyPatch(state, [{ op: '@txt', path: '/body', value: [{ retain: 5 }, { insert: '!' }] }]);
    expect(next).toEqual({ body: { ops: [{ insert: 'Hello!\n' }] } });
    expect(state.body.ops).toEqual([{ insert: 'Hello\n' }]);
  });

  it('should read a stored bare ops array and store { ops }', () => {
    const next = applyPatch({ body: [{ insert: 'ab\n' }] }, [{ op: '@txt', path: '/body', value: [{ delete: 1 }] }]);
    expect(next).toEqual({ body: { ops: [{ insert: 'b\n' }] } });
  });

  it('should start a missing field from "\\n", creating parents', () => {
    const next = applyPatch({}, [{ op: '@txt', path: '/doc/body', value: [{ insert: 'Hi' }] }]);
    expect(next).toEqual({ doc: { body: { ops: [{ insert: 'Hi\n' }] } } });
  });

  it('should accept a legacy { ops } op value', () => {
    const next = applyPatch({}, [{ op: '@txt', path: '/t', value: { ops: [{ insert: 'x' }] } }]);
    expect(next).toEqual({ t: { ops: [{ insert: 'x\n' }] } });
  });

  it('should store a plain JSON object, not a Delta instance', () => {
    const next = applyPatch({}, [{ op: '@txt', path: '/t', value: [{ insert: 'x' }] }]) as { t: object };
    expect(Object.getPrototypeOf(next.t)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(next))).toStrictEqual(next);
  });

  it('should fail for a value that is not a delta', () => {
    expect(() => applyPatch({}, [{ op: '@txt', path: '/t', value: 'text' }])).toThrow(PatchError);
    expect(() => applyPatch({}, [{ op: '@txt', path: '/t', value: [{ retain: -1 }] }])).toThrow(PatchError);
    expect(() => applyPatch({}, [{ op: '@txt', path: '/t', value: [{ insert: 'a', delete: 1 }] }])).toThrow(PatchError);
  });

  it('should work on a frozen document', () => {
    const ops = Object.freeze([Object.freeze({ insert: 'bold', attributes: Object.freeze({ bold: true }) }), Object.freeze({ insert: '\n' })]);
    const state = Object.freeze({ t: Object.freeze({ ops }) });
    const next = applyPatch(state, [{ op: '@txt', path: '/t', value: [{ retain: 4 }, { insert: '!' }] }]);
    expect(next).toEqual({ t: { ops: [{ insert: 'bold', attributes: { bold: true } }, { insert: '!\n' }] } });
  });
});
