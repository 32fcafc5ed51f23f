import { guardConflict } from '../../src/stores/guardConflict.js';

describe('guardConflict', () => {
  const facts = { committedRev: 4, pendingIds: ['a', 'b'], pendingOps: [{ op: 'replace', path: '/x', value: 1 }], sendingId: null };

  it('should let a write without a guard, or with a matching one, through', () => {
    expect(guardConflict(facts, undefined)).toBeUndefined();
    expect(guardConflict(facts, { committedRev: 4, pendingIds: ['a', 'b'], pendingOps: [{ op: 'replace', path: '/x', value: 1 }], sendingId: null })).toBeUndefined();
  });

  it('should name the first field that differs', () => {
    expect(guardConflict(facts, { committedRev: 3 })).toBe('committedRev 4 ≠ expected 3');
    expect(guardConflict(facts, { pendingIds: ['a'] })).toBe('pending queue [a,b] ≠ expected [a]');
    expect(guardConflict(facts, { pendingIds: ['b', 'a'] })).toBe('pending queue [a,b] ≠ expected [b,a]');
    expect(guardConflict(facts, { sendingId: 's1' })).toBe('in-flight change none ≠ expected s1');
    expect(guardConflict(facts, { pendingOps: [] })).toBe('pending ops changed');
  });

  it('should compare a queue given as its changes by their ids, as it compares the ids', () => {
    const queued = { committedRev: 4, pending: [{ id: 'a' }, { id: 'b' }] };
    expect(guardConflict(queued, { pendingIds: ['a', 'b'] })).toBeUndefined();
    expect(guardConflict(queued, { pendingIds: ['a'] })).toBe('pending queue [a,b] ≠ expected [a]');
    expect(guardConflict(queued, { pendingIds: ['b', 'a'] })).toBe('pending queue [a,b] ≠ expected [b,a]');
    expect(guardConflict({ committedRev: 4 }, { pendingIds: ['a'] })).toBe('pending queue [] ≠ expected [a]');
  });
});
