import { caretAfterEdit } from '../../../examples/board/caretAfterEdit.js';

describe('caretAfterEdit', () => {
  it('should move a caret after the edit by what the text gained or lost', () => {
    // The reviewer's case: "XX" typed at the start while the caret sat after "hello".
    expect(caretAfterEdit('hello world', 'XXhello world', 5)).toBe(7);
    expect(caretAfterEdit('hello world', 'hello world', 5)).toBe(5);
    expect(caretAfterEdit('XXhello world', 'hello world', 7)).toBe(5);
    expect(caretAfterEdit('hello world', 'hi, hello world', 11)).toBe(15);
    expect(caretAfterEdit('abc', 'xyzc', 3)).toBe(4);
  });

  it('should leave a caret before the edit where it is', () => {
    expect(caretAfterEdit('hello world', 'hello world!', 5)).toBe(5);
    expect(caretAfterEdit('hello world', 'hello', 5)).toBe(5);
    expect(caretAfterEdit('hello world', 'hello there', 0)).toBe(0);
    expect(caretAfterEdit('', 'typed', 0)).toBe(0);
  });

  it('should keep a caret before text inserted right at it', () => {
    expect(caretAfterEdit('hello world', 'hello, world', 5)).toBe(5);
  });

  it('should clamp a caret inside replaced text into the new text', () => {
    // "world" → "there": the caret between "wo" and "rld" stays at 8, inside the new word.
    expect(caretAfterEdit('hello world', 'hello there', 8)).toBe(8);
    // "world" → "x": the replacement is shorter than where the caret was.
    expect(caretAfterEdit('hello world', 'hello x', 9)).toBe(7);
    // The text under the caret deleted: the caret goes to where the deletion was.
    expect(caretAfterEdit('hello world', 'hello', 8)).toBe(5);
    expect(caretAfterEdit('hello world', '', 3)).toBe(0);
  });

  it('should not count a repeated character in both the common prefix and suffix', () => {
    // Counted twice, the "ab" kept would both precede and follow the deleted one: the caret at 3 went to 1.
    expect(caretAfterEdit('abab', 'ab', 3)).toBe(2);
    expect(caretAfterEdit('abab', 'ab', 4)).toBe(2);
    // Ambiguous repeats read as the earliest edit: an "a" added at the caret, which stays before it.
    expect(caretAfterEdit('aa', 'aaa', 2)).toBe(2);
    expect(caretAfterEdit('aaa', 'aa', 3)).toBe(2);
  });

  it('should always give an offset inside the new text', () => {
    const values = ['', 'a', 'ab', 'ba', 'abc', 'hello', 'help', 'aab', 'bab'];
    for (const before of values) {
      for (const after of values) {
        for (let offset = 0; offset <= before.length; offset++) {
          const moved = caretAfterEdit(before, after, offset);
          expect(moved).toBeGreaterThanOrEqual(0);
          expect(moved).toBeLessThanOrEqual(after.length);
        }
      }
    }
  });
});
