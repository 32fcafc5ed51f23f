import { KnownQueues, newQueueTag } from '../../src/stores/KnownQueues.js';

describe('KnownQueues', () => {
  it('should give the ids only under the tag they were seen under', () => {
    const known = new KnownQueues();
    const tag = newQueueTag();
    known.remember('d', tag, ['p1', 'p2']);
    expect(known.has('d')).toBe(true);
    expect(known.idsUnder('d', tag)).toEqual(['p1', 'p2']);
    expect(known.idsUnder('d', newQueueTag())).toBeUndefined();
    expect(known.idsUnder('d', undefined)).toBeUndefined();
    expect(known.idsUnder('other', tag)).toBeUndefined();
  });

  it('should keep only the latest sighting, and none of a row without a tag', () => {
    const known = new KnownQueues();
    const [first, second] = [newQueueTag(), newQueueTag()];
    known.remember('d', first, ['p1']);
    known.remember('d', second, ['p1', 'p2']);
    expect(known.idsUnder('d', first)).toBeUndefined();
    expect(known.idsUnder('d', second)).toEqual(['p1', 'p2']);
    known.remember('d', undefined, ['p1']);
    expect(known.has('d')).toBe(false);
  });

  it('should forget one doc, or all', () => {
    const known = new KnownQueues();
    const tag = newQueueTag();
    known.remember('a', tag, []);
    known.remember('b', tag, []);
    known.forget('a');
    expect([known.has('a'), known.has('b')]).toEqual([false, true]);
    known.clear();
    expect(known.has('b')).toBe(false);
  });

  it('should draw a new tag each time', () => {
    const tags = new Set(Array.from({ length: 1000 }, newQueueTag));
    expect(tags.size).toBe(1000);
  });
});
