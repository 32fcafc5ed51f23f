import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { textEditOps } from '../../../src/algorithms/recording/textEditOps.js';
import { setRichTextEngine } from '../../../src/algorithms/richText.js';
import { editText } from '../../../src/txt/editText.js';
import { enableRichText } from '../../../src/txt/enableRichText.js';
import type { JSONPatchOp } from '../../../src/types.js';

const doc = (text: string) => ({ ops: [{ insert: text }] });
const bang = [{ retain: 5 }, { insert: '!' }];
const txt = (path: string, value: unknown): JSONPatchOp => ({ op: '@txt', path, value });

/** The rewritten ops, checked to give what the original ops give. */
function rewrite(ops: JSONPatchOp[], base: unknown, next: unknown): JSONPatchOp[] {
  const out = textEditOps(ops, base, next);
  expect(applyPatch(base, out, { mode: 'strict' })).toEqual(applyPatch(base, ops, { mode: 'strict' }));
  return out;
}

describe('textEditOps', () => {
  beforeEach(() => enableRichText());
  afterEach(() => setRichTextEngine(undefined));

  it('should record the write of a text document editText made from the value at its path as @txt', () => {
    const base = { body: doc('Hello\n') };
    const next = { body: editText(base.body, bang) };
    expect(rewrite([{ op: 'replace', path: '/body', value: next.body }], base, next)).toEqual([txt('/body', bang)]);
  });

  it('should record a new field made from nothing as @txt', () => {
    const base = { title: 'x' };
    const next = { ...base, body: editText(undefined, [{ insert: 'Hi' }]) };
    expect(rewrite([{ op: 'add', path: '/body', value: next.body }], base, next)).toEqual([txt('/body', [{ insert: 'Hi' }])]);
  });

  it('should return the ops themselves when no value is a marked text document', () => {
    const ops: JSONPatchOp[] = [{ op: 'replace', path: '/body', value: doc('Hello!\n') }, { op: 'remove', path: '/x' }];
    expect(textEditOps(ops, { body: doc('Hello\n'), x: 1 }, {})).toBe(ops);
  });

  it('should keep the write when the base is not what is at the path: another field, an older or equal copy', () => {
    const base = { body: doc('Hello\n'), other: doc('Hello\n') };
    const made = editText(base.body, bang);
    const copied = editText(doc('Hello\n'), bang);
    const ops: JSONPatchOp[] = [
      { op: 'replace', path: '/other', value: made },
      { op: 'replace', path: '/body', value: copied },
    ];
    expect(rewrite(ops, base, { body: copied, other: made })).toBe(ops);
  });

  it('should keep an insert into an array as the insert it is, even made from the element at its index', () => {
    // `list.unshift(editText(list[0], …))`: a new element before the old one, which stays.
    const base = { list: [doc('Hello\n')] };
    const inserted = editText(base.list[0], bang);
    const ops: JSONPatchOp[] = [{ op: 'add', path: '/list/0', value: inserted }];
    expect(rewrite(ops, base, { list: [inserted, base.list[0]] })).toBe(ops);
  });

  it('should record a replaced element as @txt, and an append as the append it is', () => {
    const base = { list: [doc('Hello\n')] };
    const replaced = editText(base.list[0], bang);
    const appended = editText(base.list[0], bang);
    const ops: JSONPatchOp[] = [
      { op: 'replace', path: '/list/0', value: replaced },
      { op: 'add', path: '/list/-', value: appended },
    ];
    expect(rewrite(ops, base, { list: [replaced, appended] })).toEqual([txt('/list/0', bang), ops[1]]);
  });

  it('should read the value at the path as the earlier ops of the change left it, not in the base state', () => {
    // An insert before it moved the element: its text is at /cards/1 by then.
    const base = { cards: [{ text: doc('Hello\n') }, { text: doc('Other\n') }] };
    const made = editText(base.cards[0].text, bang);
    const ops: JSONPatchOp[] = [
      { op: 'add', path: '/cards/0', value: { text: doc('New\n') } },
      { op: 'replace', path: '/cards/1/text', value: made },
    ];
    expect(rewrite(ops, base, { cards: [{ text: doc('New\n') }, { text: made }, base.cards[1]] })).toEqual([ops[0], txt('/cards/1/text', bang)]);

    // An earlier op wrote into the value: it is not the base any more.
    const writtenInto: JSONPatchOp[] = [
      { op: 'add', path: '/cards/0/text/ops/-', value: { insert: 'x' } },
      { op: 'replace', path: '/cards/0/text', value: made },
    ];
    expect(rewrite(writtenInto, base, {})).toBe(writtenInto);
  });

  it('should find the marked document in the next state when the op carries a copy of it, and only an equal one', () => {
    const base = { body: doc('Hello\n') };
    const next = { body: editText(base.body, bang) };
    const copy = structuredClone(next.body);
    expect(rewrite([{ op: 'replace', path: '/body', value: copy }], base, next)).toEqual([txt('/body', bang)]);
    const other: JSONPatchOp[] = [{ op: 'replace', path: '/body', value: doc('Hello?\n') }];
    expect(textEditOps(other, base, next)).toBe(other);
  });

  it('should leave a text document inside a larger value written whole', () => {
    const base = { card: { text: doc('Hello\n') } };
    const next = { card: { text: editText(base.card.text, bang), done: true } };
    const ops: JSONPatchOp[] = [{ op: 'replace', path: '/card', value: next.card }];
    expect(rewrite(ops, base, next)).toBe(ops);
  });
});
