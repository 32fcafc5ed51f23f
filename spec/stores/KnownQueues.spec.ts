import { KnownQueues, newQueueTag } from '../../src/stores/KnownQueues.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

const op = (path: string, value: unknown): JSONPatchOp => ({ op: 'replace', path, value });

describe('KnownQueues', () => {
  it('should give the ids or the ops only under the tag they were seen under', () => {
    const known = new KnownQueues();
    const tag = newQueueTag();
    known.remember('d', tag, { ids: ['p1', 'p2'] });
    known.remember('l', tag, { ops: [op('/a', 1)] });
    expect(known.has('d')).toBe(true);
    expect(known.idsUnder('d', tag)).toEqual(['p1', 'p2']);
    expect(known.opsUnder('l', tag)).toEqual([op('/a', 1)]);
    expect(known.idsUnder('d', newQueueTag())).toBeUndefined();
    expect(known.idsUnder('d', undefined)).toBeUndefined();
    expect(known.idsUnder('other', tag)).toBeUndefined();
    // One kind is not the other.
    expect(known.opsUnder('d', tag)).toBeUndefined();
    expect(known.idsUnder('l', tag)).toBeUndefined();
  });

  it('should give the LWW ops last known with their tag, whatever the row says now (to catch up from)', () => {
    const known = new KnownQueues();
    const tag = newQueueTag();
    known.remember('l', tag, { ops: [op('/a', 1)] });
    known.remember('d', tag, { ids: ['p1'] });
    expect(known.latestOps('l')).toEqual({ tag, ops: [op('/a', 1)] });
    expect(known.latestOps('d')).toBeUndefined();
    known.forget('l');
    expect(known.latestOps('l')).toBeUndefined();
  });

  it('should keep only the latest sighting, and none of a row without a tag', () => {
    const known = new KnownQueues();
    const [first, second] = [newQueueTag(), newQueueTag()];
    known.remember('d', first, { ids: ['p1'] });
    known.remember('d', second, { ids: ['p1', 'p2'] });
    expect(known.idsUnder('d', first)).toBeUndefined();
    expect(known.idsUnder('d', second)).toEqual(['p1', 'p2']);
    known.remember('d', undefined, { ids: ['p1'] });
    expect(known.has('d')).toBe(false);
  });

  it('should extend the ids known under the tag a write started from, with where the queue ends, and nothing else', () => {
    const known = new KnownQueues();
    const [first, second, third] = [newQueueTag(), newQueueTag(), newQueueTag()];
    known.remember('d', first, { ids: ['p1'] });
    expect(known.latestEnd('d')).toBeUndefined();
    expect(known.extend('d', first, second, ['p2', 'p3'], { seq: 3, rev: 7 })).toBe(true);
    expect(known.idsUnder('d', second)).toEqual(['p1', 'p2', 'p3']);
    expect(known.idsUnder('d', first)).toBeUndefined();
    expect(known.latestEnd('d')).toEqual({ tag: second, end: { seq: 3, rev: 7 } });
    // A write that started under a tag no longer known extends nothing.
    expect(known.extend('d', first, third, ['p4'], { seq: 4, rev: 8 })).toBe(false);
    expect(known.extend('d', undefined, third, ['p4'], { seq: 4, rev: 8 })).toBe(false);
    expect(known.extend('other', second, third, ['p4'], { seq: 4, rev: 8 })).toBe(false);
    expect(known.idsUnder('d', second)).toEqual(['p1', 'p2', 'p3']);
    expect(known.latestEnd('d')).toEqual({ tag: second, end: { seq: 3, rev: 7 } });
    // Ids remembered without their end (a read) say nothing of it.
    known.remember('d', third, { ids: ['p1'] });
    expect(known.latestEnd('d')).toBeUndefined();
    // LWW ops are not an id queue.
    known.remember('l', first, { ops: [op('/a', 1)] });
    expect(known.extend('l', first, second, ['p1'], { seq: 1, rev: 1 })).toBe(false);
    expect(known.latestEnd('l')).toBeUndefined();
    expect(known.opsUnder('l', first)).toEqual([op('/a', 1)]);
  });

  it('should forget one doc, or all', () => {
    const known = new KnownQueues();
    const tag = newQueueTag();
    known.remember('a', tag, { ids: [] });
    known.remember('b', tag, { ops: [] });
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

describe('KnownQueues reads', () => {
  const row = (seq: number): { seq: number; change: Change } => ({ seq, change: { id: `c${seq}`, baseRev: 0, rev: seq, ops: [], createdAt: 0, committedAt: 0 } });

  it('should extend a whole read by the rows after it while the base stays, and remember the result', () => {
    const known = new KnownQueues();
    const base = newQueueTag();
    expect(known.readFrom('d')).toBeUndefined();
    known.rememberRead('d', base, [row(1), row(2)]);
    expect(known.readFrom('d')).toEqual({ base, lastSeq: 2 });
    expect(known.extendRead('d', base, { base, lastSeq: 2 }, [row(3)])?.map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    expect(known.readFrom('d')).toEqual({ base, lastSeq: 3 });
    expect(known.extendRead('d', base, { base, lastSeq: 3 }, [])?.map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    expect(known.readFrom('d')).toEqual({ base, lastSeq: 3 });
  });

  it('should not extend from where another read already moved it (two reads at once)', () => {
    const known = new KnownQueues();
    const base = newQueueTag();
    known.rememberRead('d', base, [row(1)]);
    const [first, second] = [known.readFrom('d')!, known.readFrom('d')!];
    expect(known.extendRead('d', base, first, [row(2)])?.map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(known.extendRead('d', base, second, [row(2)])).toBeUndefined();
    expect(known.readFrom('d')).toEqual({ base, lastSeq: 2 });
  });

  it('should not extend under another base, or none, and forget with the rest', () => {
    const known = new KnownQueues();
    const base = newQueueTag();
    known.rememberRead('d', base, [row(1)]);
    expect(known.extendRead('d', newQueueTag(), { base, lastSeq: 1 }, [row(2)])).toBeUndefined();
    expect(known.extendRead('d', undefined, { base, lastSeq: 1 }, [row(2)])).toBeUndefined();
    known.rememberRead('d', undefined, [row(1)]);
    expect(known.readFrom('d')).toBeUndefined();
    known.rememberRead('d', base, []);
    expect(known.readFrom('d')).toEqual({ base, lastSeq: 0 });
    known.forget('d');
    expect(known.readFrom('d')).toBeUndefined();
  });
});
