import { enablePatches, produce } from 'immer';
import type { DeltaOp, TextDocument } from '../../src/algorithms/deltaOps.js';
import { recordingTextEdits, textEditOf } from '../../src/algorithms/recording/textEdits.js';
import { setRichTextEngine } from '../../src/algorithms/richText.js';
import { Patches } from '../../src/client/Patches.js';
import { RichTextNotEnabledError } from '../../src/errors.js';
import { editText } from '../../src/txt/editText.js';
import { enableRichText } from '../../src/txt/enableRichText.js';
import { applyTextDelta } from '../../src/txt/textDelta.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';

enablePatches();

const doc = (text: string): TextDocument => ({ ops: [{ insert: text }] });

describe('editText', () => {
  beforeEach(() => enableRichText());
  afterEach(() => setRichTextEngine(undefined));

  it('should return what the @txt op makes of the value, starting from "\\n" when there is no text document', () => {
    const delta: DeltaOp[] = [{ retain: 5 }, { insert: '!' }];
    expect(editText(doc('Hello\n'), delta)).toEqual(applyTextDelta(doc('Hello\n'), delta));
    expect(editText(doc('Hello\n'), delta)).toEqual(doc('Hello!\n'));
    expect(editText(undefined, [{ insert: 'Hi' }])).toEqual(doc('Hi\n'));
    expect(editText(42, [{ insert: 'Hi' }])).toEqual(doc('Hi\n'));
  });

  describe('a plain string', () => {
    it('should be taken as its text, a final "\\n" added only when it has none', () => {
      expect(editText('Hello', [{ retain: 5 }, { insert: '!' }])).toEqual(doc('Hello!\n'));
      expect(editText('Hello\n', [{ retain: 5 }, { insert: '!' }])).toEqual(doc('Hello!\n'));
      expect(editText('', [{ insert: 'Hi' }])).toEqual(doc('Hi\n'));
      // The "\n" added is the last line's, which a line format applies to.
      expect(editText('two\nlines', [{ retain: 9 }, { retain: 1, attributes: { header: 1 } }])).toEqual({
        ops: [{ insert: 'two\nlines' }, { insert: '\n', attributes: { header: 1 } }],
      });
    });

    it('should leave no mark: the edit is a plain write, as another replica would apply an @txt op to the string from "\\n"', () => {
      const next = recordingTextEdits(() =>
        produce({ body: 'Hello' as unknown }, (draft) => {
          draft.body = editText(draft.body, [{ retain: 5 }, { insert: '!' }]);
        }),
      );
      expect(next.body).toEqual(doc('Hello!\n'));
      expect(textEditOf(next.body)).toBeUndefined();
    });

    it('should keep its text through change(): the first edit writes the text document whole, the next ones are @txt', async () => {
      const store = new InMemoryStore();
      const patches = new Patches({ store });
      const card = await patches.openDoc<{ text?: string | TextDocument }>('card');
      card.change((draft) => {
        draft.text = 'Buy milk';
      });
      card.change((draft) => {
        draft.text = editText(draft.text, [{ retain: 8 }, { insert: '!' }]);
        draft.text = editText(draft.text, [{ insert: '- ' }]);
      });
      card.change((draft) => {
        draft.text = editText(draft.text, [{ retain: 2 }, { insert: 'Do: ' }]);
      });
      expect(card.state.text).toEqual(doc('- Do: Buy milk!\n'));
      await card.flush();
      const [, first, second] = await store.getPendingChanges('card');
      expect(first.ops).toEqual([{ op: 'replace', path: '/text', value: doc('- Buy milk!\n') }]);
      expect(second.ops).toEqual([{ op: '@txt', path: '/text', value: [{ retain: 2 }, { insert: 'Do: ' }] }]);
      await patches.close();
    });
  });

  it('should return a frozen document, so what the mark says it is cannot change', () => {
    const next = editText(doc('ab\n'), [{ insert: 'x', attributes: { bold: true } }]);
    expect(Object.isFrozen(next)).toBe(true);
    expect(Object.isFrozen(next.ops)).toBe(true);
    expect(next.ops.every((op) => Object.isFrozen(op) && (op.attributes === undefined || Object.isFrozen(op.attributes)))).toBe(true);
    expect(() => next.ops.push({ insert: 'y' })).toThrow(TypeError);
  });

  it('should throw RichTextNotEnabledError when enableRichText() was not called, and TypeError for a bad delta', () => {
    setRichTextEngine(undefined);
    expect(() => editText(doc('a\n'), [{ insert: 'b' }])).toThrow(RichTextNotEnabledError);
    enableRichText();
    expect(() => editText(doc('a\n'), [{ delete: 0 }])).toThrow(TypeError);
  });

  describe('the mark it leaves for the recorder', () => {
    it('should name the base state\'s own value as the base when given a draft nothing was written into', () => {
      const base = { body: doc('Hello\n') };
      let made: TextDocument | undefined;
      produce(base, (draft) => {
        made = editText(draft.body, [{ retain: 5 }, { insert: '!' }]);
      });
      expect(textEditOf(made)).toEqual({ base: base.body, delta: [{ retain: 5 }, { insert: '!' }], recording: undefined });
      expect(textEditOf(made)!.base).toBe(base.body);
    });

    it('should read a draft written into as it is now, and leave no mark: no value of the base state is what it applies to', () => {
      const base = { body: doc('Hello\n') };
      let made: TextDocument | undefined;
      produce(base, (draft) => {
        draft.body.ops[0].insert = 'Bye\n';
        made = editText(draft.body, [{ retain: 3 }, { insert: '!' }]);
      });
      expect(made).toEqual(doc('Bye!\n'));
      expect(textEditOf(made)).toBeUndefined();
    });

    it('should name a value that is not a draft as its own base, and copy the delta', () => {
      const body = doc('Hello\n');
      const delta: DeltaOp[] = [{ retain: 5 }, { insert: '!' }];
      const made = editText(body, delta);
      delta.push({ insert: '?' });
      expect(textEditOf(made)).toEqual({ base: body, delta: [{ retain: 5 }, { insert: '!' }], recording: undefined });
    });

    it('should compose a second edit in the same recording onto the first one\'s base', () => {
      const base = { body: doc('Hello\n') };
      const next = recordingTextEdits(() =>
        produce(base, (draft) => {
          draft.body = editText(draft.body, [{ retain: 5 }, { insert: '!' }]);
          draft.body = editText(draft.body, [{ insert: '>' }]);
        }),
      );
      expect(next.body).toEqual(doc('>Hello!\n'));
      const mark = textEditOf(next.body)!;
      expect(mark.base).toBe(base.body);
      expect(mark.delta).toEqual([{ insert: '>' }, { retain: 5 }, { insert: '!' }]);
      expect(applyTextDelta(mark.base, mark.delta)).toEqual(next.body);
    });

    it('should not compose onto a document an earlier recording made: that one is the base', () => {
      const first = recordingTextEdits(() => editText(doc('ab\n'), [{ insert: 'x' }]));
      const second = recordingTextEdits(() => editText(first, [{ insert: 'y' }]));
      const outside = editText(first, [{ insert: 'z' }]);
      expect(textEditOf(second)).toMatchObject({ base: first, delta: [{ insert: 'y' }] });
      expect(textEditOf(outside)).toMatchObject({ base: first, delta: [{ insert: 'z' }] });
    });

    it('should leave no mark when the composed delta would not make what the two edits made (a retain past the end)', () => {
      // "ab\n" then [retain 3, insert x] gives "ab\nx\n" (a newline added); composed, the second
      // edit's retain would run past the first base and its insert land elsewhere.
      const made = recordingTextEdits(() => {
        const once = editText(doc('ab\n'), [{ retain: 3 }, { insert: 'x' }]);
        return editText(once, [{ retain: 5 }, { insert: 'y' }]);
      });
      expect(made).toEqual(doc('ab\nx\ny\n'));
      expect(textEditOf(made)).toBeUndefined();
    });
  });
});
