import { JSONRPCError } from '../../src/errors.js';
import { asSnapshot, changeList, docIdOf, isDocChanges } from '../../src/net/wireShapes.js';

const change = { id: 'a', ops: [], baseRev: 0, rev: 1, createdAt: 1, committedAt: 2 };

describe('wireShapes', () => {
  it('should accept a list of changes and refuse anything else with a typed JSONRPCError naming the method', () => {
    expect(changeList([change], 'getChangesSince')).toEqual([change]);
    expect(changeList([], 'getChangesSince')).toEqual([]);
    for (const bad of [undefined, null, {}, 'x', [null], [{ id: 'a' }], [{ ...change, rev: '1' }]]) {
      expect(() => changeList(bad, 'commitChanges')).toThrow(new JSONRPCError(-32603, 'Malformed commitChanges result from the server'));
    }
  });

  it('should read a getDoc snapshot, defaulting a missing state to null and missing changes to none', () => {
    expect(asSnapshot({ rev: 3 })).toEqual({ state: null, rev: 3, changes: [] });
    expect(asSnapshot({ state: { a: 1 }, rev: 0, changes: [change] })).toEqual({ state: { a: 1 }, rev: 0, changes: [change] });
    expect(() => asSnapshot(undefined)).toThrow(JSONRPCError);
    expect(() => asSnapshot({ state: {} })).toThrow(JSONRPCError);
    expect(() => asSnapshot({ rev: 1, changes: 'no' })).toThrow(JSONRPCError);
  });

  it('should recognise a changesCommitted payload and a notification doc id', () => {
    expect(isDocChanges({ docId: 'd', changes: [] })).toBe(true);
    expect(isDocChanges(undefined)).toBe(false);
    expect(isDocChanges({ docId: 1, changes: [] })).toBe(false);
    expect(isDocChanges({ docId: 'd' })).toBe(false);
    expect(docIdOf({ docId: 'd' })).toBe('d');
    expect(docIdOf(null)).toBe('');
    expect(docIdOf({ docId: 7 })).toBe('');
  });
});
