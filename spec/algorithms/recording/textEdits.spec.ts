import { isInRecording, markTextEdit, recordingTextEdits, textEditOf } from '../../../src/algorithms/recording/textEdits.js';

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
});
