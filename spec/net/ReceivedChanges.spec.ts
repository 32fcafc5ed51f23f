import { ReceivedChanges } from '../../src/net/ReceivedChanges.js';
import type { Change } from '../../src/types.js';

const change = (id: string, rev: number): Change => ({ id, rev, baseRev: rev - 1, ops: [], createdAt: 0, committedAt: 1 });

describe('ReceivedChanges', () => {
  it('should keep the last perDoc changes of each doc by id', () => {
    const received = new ReceivedChanges(2);
    received.add('d1', [change('a', 1), change('b', 2)]);
    received.add('d1', [change('c', 3)]);
    received.add('d2', [change('x', 1)]);
    expect([received.get('d1', 'a'), received.get('d1', 'b'), received.get('d1', 'c')]).toEqual([undefined, change('b', 2), change('c', 3)]);
    expect(received.get('d2', 'x')).toEqual(change('x', 1));
    received.forget('d1');
    expect(received.get('d1', 'c')).toBeUndefined();
  });
});
