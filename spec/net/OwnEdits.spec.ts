import { OwnEdits } from '../../src/net/OwnEdits.js';
import type { SyncedDoc } from '../../src/types.js';

const clean = (committedRev: number): SyncedDoc => ({ committedRev, hasPending: false, status: 'synced' });

describe('OwnEdits', () => {
  it('should show an edited doc as pending over an entry that says nothing is', () => {
    const own = new OwnEdits();
    own.edited('a');
    expect([own.shown('a', clean(3)), own.shown('b', clean(1))]).toEqual([{ committedRev: 3, hasPending: true, status: 'synced' }, clean(1)]);
  });

  it('should show a doc whose edit is still being saved as pending, before any mark (finding M, the save window)', () => {
    const own = new OwnEdits();
    const saving = new Set(['a']);
    const unsaved = (docId: string) => saving.has(docId);
    expect(own.shown('a', clean(1), unsaved).hasPending).toBe(true);
    expect(own.shown('b', clean(1), unsaved).hasPending).toBe(false);
    saving.clear();
    expect(own.shown('a', clean(1), unsaved).hasPending).toBe(false);
  });

  it('should clear the mark once a read begun after the edit finds nothing pending', () => {
    const own = new OwnEdits();
    own.edited('a');
    expect(own.read('a')(true)).toBe(true);
    expect(own.shown('a', clean(3)).hasPending).toBe(true);
    expect(own.read('a')(false)).toBe(true);
    expect(own.shown('a', clean(4))).toEqual(clean(4));
  });

  it('should not count a read that found nothing while the doc was edited, and keep the mark', () => {
    const own = new OwnEdits();
    const found = own.read('a');
    own.edited('a'); // saved before or after the read looked: it cannot tell
    expect(found(false)).toBe(false);
    expect(own.shown('a', clean(3)).hasPending).toBe(true);
    const again = own.read('a');
    expect(again(false)).toBe(true);
    expect(own.shown('a', clean(3)).hasPending).toBe(false);
  });

  it('should count a read that found something pending, edited meanwhile or not', () => {
    const own = new OwnEdits();
    const found = own.read('a');
    own.edited('a');
    expect(found(true)).toBe(true);
    expect(own.shown('a', clean(3)).hasPending).toBe(true);
  });

  it('should drop the marks of forgotten docs, and still count an edit made during a read', () => {
    const own = new OwnEdits();
    own.edited('a');
    const found = own.read('a');
    own.forget(['a']);
    expect(own.shown('a', clean(3))).toEqual(clean(3));
    own.edited('a');
    expect(found(false)).toBe(false);
  });

  it('should keep nothing of the docs it forgot, however many went through it', () => {
    const own = new OwnEdits();
    for (let i = 0; i < 1_000; i++) {
      own.edited(`doc${i}`);
      own.forget([`doc${i}`]);
    }
    own.edited('kept');
    expect(own.size).toBe(1);
  });

  it('should not count a read begun before a forget and an edit, though the doc starts again from nothing', () => {
    const own = new OwnEdits();
    own.edited('a');
    own.edited('b');
    const found = own.read('a');
    own.forget(['a']);
    own.edited('a'); // its first edit since it was forgotten
    expect(found(false)).toBe(false);
  });
});
