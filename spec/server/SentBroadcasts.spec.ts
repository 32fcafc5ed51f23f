import { SentBroadcasts } from '../../src/server/SentBroadcasts.js';

describe('SentBroadcasts', () => {
  it('should know the last perDoc ids sent to a connection for a doc, and nothing of other connections or docs', () => {
    const sent = new SentBroadcasts(3);
    sent.record('c1', 'd1', ['a', 'b']);
    sent.record('c1', 'd1', ['c', 'd']);
    expect(['a', 'b', 'c', 'd'].map(id => sent.has('c1', 'd1', id))).toEqual([false, true, true, true]);
    expect(sent.has('c2', 'd1', 'c')).toBe(false);
    expect(sent.has('c1', 'd2', 'c')).toBe(false);
  });

  it('should keep each connection its own list when one broadcast is recorded for several', () => {
    const sent = new SentBroadcasts(2);
    const broadcast = ['a', 'b'];
    sent.record('c1', 'd1', broadcast);
    sent.record('c2', 'd1', broadcast);
    sent.record('c1', 'd1', ['c', 'd', 'e']);
    expect(broadcast).toEqual(['a', 'b']);
    expect(['a', 'b', 'c', 'd', 'e'].map(id => sent.has('c1', 'd1', id))).toEqual([false, false, false, true, true]);
    expect(['a', 'b', 'c', 'd', 'e'].map(id => sent.has('c2', 'd1', id))).toEqual([true, true, false, false, false]);
  });

  it('should forget a doc on unsubscribe and everything of a closed connection', () => {
    const sent = new SentBroadcasts();
    sent.record('c1', 'd1', ['a']);
    sent.record('c1', 'd2', ['b']);
    sent.forget('c1', ['d1']);
    expect([sent.has('c1', 'd1', 'a'), sent.has('c1', 'd2', 'b')]).toEqual([false, true]);
    sent.forget('c1');
    expect(sent.has('c1', 'd2', 'b')).toBe(false);
  });
});
