import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isInRecording, markTextEdit, recordingTextEdits, textEditOf } from '../../../src/algorithms/recording/textEdits.js';

/** The engine's collector, for the case that a mark keeps no version of a text alive. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('textEdits', () => {
  it('should keep a mark by identity: the object marked has it, an equal copy does not', () => {
    const doc = { ops: [{ insert: 'a\n' }] };
    markTextEdit(doc, { base: undefined, delta: [{ insert: 'a' }] });
    expect(textEditOf(doc)).toEqual({ base: undefined, delta: [{ insert: 'a' }], recording: undefined });
    expect(textEditOf({ ops: [{ insert: 'a\n' }] })).toBeUndefined();
    expect(textEditOf('a\n')).toBeUndefined();
    expect(textEditOf(null)).toBeUndefined();
  });

  it('should tell a mark made in the recording under way from one made in another or outside any', () => {
    const outside = {};
    markTextEdit(outside, { base: undefined, delta: [] });
    let earlier: object | undefined;
    recordingTextEdits(() => {
      earlier = {};
      markTextEdit(earlier, { base: undefined, delta: [] });
    });
    recordingTextEdits(() => {
      const now = {};
      markTextEdit(now, { base: undefined, delta: [] });
      expect(isInRecording(textEditOf(now)!)).toBe(true);
      expect(isInRecording(textEditOf(earlier)!)).toBe(false);
      expect(isInRecording(textEditOf(outside)!)).toBe(false);
      // A recording inside another (a change() of another doc in a recipe) is its own, and ends with it.
      recordingTextEdits(() => expect(isInRecording(textEditOf(now)!)).toBe(false));
      expect(isInRecording(textEditOf(now)!)).toBe(true);
    });
    expect(isInRecording(textEditOf(earlier)!)).toBe(false);
  });

  it('should end the recording when the work throws, and rethrow', () => {
    let made: object | undefined;
    expect(() =>
      recordingTextEdits(() => {
        made = {};
        markTextEdit(made, { base: undefined, delta: [] });
        throw new Error('recipe failed');
      }),
    ).toThrow('recipe failed');
    recordingTextEdits(() => expect(isInRecording(textEditOf(made)!)).toBe(false));
  });

  it('should keep no base alive: versions of a text marked one from the other let the older ones go', async () => {
    const gc = collector();
    let first: object | undefined = { ops: [{ insert: 'x'.repeat(10_000) }] };
    const firstRef = new WeakRef(first);
    let latest: object = first;
    for (let i = 0; i < 5; i++) {
      const next = { ops: [] };
      markTextEdit(next, { base: latest, delta: [{ insert: 'a' }] });
      latest = next;
    }
    const previous = textEditOf(latest)!.base;
    first = undefined;
    // A WeakRef's target is kept until the job that made or read it ends.
    await new Promise(setImmediate);
    gc();
    expect(firstRef.deref()).toBeUndefined();
    // The latest mark still names its base while something holds it.
    expect(textEditOf(latest)!.base).toBe(previous);
  });

  it('should read a mark whose base is gone as no mark, not as a base of undefined', async () => {
    const gc = collector();
    const doc = {};
    markTextEdit(doc, { base: { ops: [] }, delta: [] });
    await new Promise(setImmediate);
    gc();
    expect(textEditOf(doc)).toBeUndefined();
  });
});
