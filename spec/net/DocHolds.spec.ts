import { DocHolds } from '../../src/net/DocHolds.js';

describe('DocHolds', () => {
  it('should hold a doc while any hold naming it is unreleased', () => {
    const holds = new DocHolds();
    const first = holds.hold(['a', 'b']);
    const second = holds.hold(['a']);
    first();
    expect([holds.has('a'), holds.has('b')]).toEqual([true, false]);
    second();
    expect(holds.has('a')).toBe(false);
  });

  it('should release a hold once however often its release is called', () => {
    const holds = new DocHolds();
    const first = holds.hold(['a']);
    const second = holds.hold(['a']);
    first();
    first();
    expect(holds.has('a')).toBe(true);
    second();
    expect(holds.has('a')).toBe(false);
  });
});
