import fc from 'fast-check';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { breakChanges, derivedPieceId } from '../../../src/algorithms/batching/breakChanges.js';
import { sizeOf, utf8ByteLength } from '../../../src/algorithms/batching/sizeOf.js';
import { UnsplittableChangeError } from '../../../src/errors.js';
import type { Change, JSONPatchOp, SizeCalculator } from '../../../src/types.js';
import { enableRichText } from '../../../src/txt/enableRichText.js';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function change(ops: JSONPatchOp[], fields: Partial<Change> = {}): Change {
  return { id: 'head00000001', ops, baseRev: 3, rev: 4, createdAt: 1700000000000, committedAt: 0, user: 'alice', ...fields };
}

function applyAll(state: unknown, changes: Change[]): unknown {
  return changes.reduce((doc, c) => applyPatch(doc, c.ops), state);
}

/** Every string insert of every `@txt` op in the changes. */
function inserts(changes: Change[]): string[] {
  return changes.flatMap((c) => c.ops.filter((op) => op.op === '@txt').flatMap((op) => (op.value as { insert?: unknown }[]).map((d) => d.insert))).filter((i): i is string => typeof i === 'string');
}

function expectPieceInvariants(original: Change[], pieces: Change[], maxBytes: number, measure: SizeCalculator = sizeOf): void {
  for (const piece of pieces) expect(measure(piece)).toBeLessThanOrEqual(maxBytes);
  // Revs consecutive from the first change; ids unique; the first piece of each change keeps its id.
  pieces.forEach((piece, i) => expect(piece.rev).toBe(original[0].rev + i));
  expect(new Set(pieces.map((p) => p.id)).size).toBe(pieces.length);
  for (const c of original) expect(pieces.some((p) => p.id === c.id)).toBe(true);
}

// @txt goes through quill-delta once enabled, as in an app (`patches-rx/txt`).
beforeAll(enableRichText);

describe('breakChanges', () => {
  describe('sizes around the limit', () => {
    const two = change([
      { op: 'replace', path: '/a', value: 'x'.repeat(40) },
      { op: 'replace', path: '/b', value: 'y'.repeat(40) },
    ]);
    const size = sizeOf(two);

    it('should keep a change just under the limit, returning the input itself', () => {
      const input = [two];
      expect(breakChanges(input, size + 1)).toBe(input);
    });

    it('should keep a change exactly at the limit', () => {
      const input = [two];
      expect(breakChanges(input, size)).toBe(input);
    });

    it('should split a change one byte over the limit into pieces that fit', () => {
      const pieces = breakChanges([two], size - 1);
      expect(pieces.map((p) => p.ops)).toEqual([[two.ops[0]], [two.ops[1]]]);
      expectPieceInvariants([two], pieces, size - 1);
    });

    it('should throw UnsplittableChangeError naming doc, size and limit for one op one byte over', () => {
      const one = change([{ op: 'replace', path: '/a', value: 'x'.repeat(100) }]);
      const limit = sizeOf(one) - 1;
      expect(breakChanges([one], limit + 1)).toEqual([one]);
      let error: unknown;
      try {
        breakChanges([one], limit, { docId: 'doc-7' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnsplittableChangeError);
      expect(error).toMatchObject({ name: 'UnsplittableChangeError', docId: 'doc-7', size: limit + 1, limit });
      expect((error as Error).message).toContain('doc-7');
    });
  });

  describe('pieces', () => {
    const big = change(
      Array.from({ length: 6 }, (_, i) => ({ op: 'replace', path: `/k${i}`, value: 'v'.repeat(50) })),
      { batchId: 'batch0000001', committedAt: 0, project: 'p1' },
    );
    const after = change([{ op: 'replace', path: '/z', value: 1 }], { id: 'next00000001', rev: 5 });

    it('should keep the id on the first piece and give later pieces fresh ids', () => {
      const pieces = breakChanges([big], 300);
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces[0].id).toBe(big.id);
      for (const piece of pieces.slice(1)) expect(piece.id).toMatch(/^[0-9A-Za-z]{12}$/);
      expectPieceInvariants([big], pieces, 300);
    });

    it('should copy baseRev, createdAt, committedAt, batchId and metadata to every piece', () => {
      for (const piece of breakChanges([big], 300)) {
        expect(piece).toMatchObject({ baseRev: 3, createdAt: 1700000000000, committedAt: 0, batchId: 'batch0000001', project: 'p1', user: 'alice' });
      }
    });

    it('should shift the revs of later changes by the extra pieces', () => {
      const result = breakChanges([big, after], 300);
      const last = result[result.length - 1];
      expect(last.id).toBe(after.id);
      expect(last.rev).toBe(big.rev + result.length - 1);
      expect(last).toEqual({ ...after, rev: last.rev });
    });

    it('should keep every op, in order', () => {
      expect(breakChanges([big], 300).flatMap((p) => p.ops)).toEqual(big.ops);
    });
  });

  // Found in review, fixed: an LWW change is cut again at every send (its store keeps it whole),
  // and every later piece got a fresh id each time, so the server, which knows a change by its id
  // alone, committed a resent piece twice. `pieceIds: 'derived'` names them after their content.
  describe('derived piece ids (pieceIds, LWW)', () => {
    const big = change(Array.from({ length: 6 }, (_, i) => ({ op: 'replace', path: `/k${i}`, value: 'v'.repeat(50), ts: 1700000000000 + i })));

    it('should name the same cut the same way every time, the first piece keeping the change\'s id', () => {
      const first = breakChanges([big], 300, { pieceIds: 'derived' });
      const again = breakChanges([structuredClone(big)], 300, { pieceIds: 'derived' });
      expect(first.length).toBeGreaterThan(2);
      expect(again.map(p => p.id)).toEqual(first.map(p => p.id));
      expect(first[0].id).toBe(big.id);
      for (const [k, piece] of first.entries()) {
        if (k > 0) expect(piece.id).toBe(derivedPieceId(big.id, piece.ops));
        if (k > 0) expect(piece.id).toMatch(/^head00000001\.[0-9A-Za-z]{24}$/);
      }
      expectPieceInvariants([big], first, 300);
      expect(first.flatMap(p => p.ops)).toEqual(big.ops);
    });

    it('should leave the default pieces with fresh ids', () => {
      const ids = () => breakChanges([big], 300).slice(1).map(p => p.id);
      expect(ids()).not.toEqual(ids());
    });

    it('should name pieces of other content otherwise, a smaller budget taking a prefix of the first piece under the change\'s id', () => {
      const wide = breakChanges([big], 500, { pieceIds: 'derived' });
      const narrow = breakChanges([big], 330, { pieceIds: 'derived' });
      expect(narrow.length).toBeGreaterThan(wide.length);
      expect(narrow[0].id).toBe(big.id);
      expect(wide[0].ops.slice(0, narrow[0].ops.length)).toEqual(narrow[0].ops);
      expect(narrow[0].ops.length).toBeLessThan(wide[0].ops.length);
      const wideIds = new Set(wide.slice(1).map(p => p.id));
      for (const piece of narrow.slice(1)) expect(wideIds.has(piece.id)).toBe(wide.some(p => p.id === piece.id && JSON.stringify(p.ops) === JSON.stringify(piece.ops)));
      // An op's stamp is content: the same path and value stamped otherwise is another piece.
      const restamped = breakChanges([{ ...big, ops: big.ops.map(op => ({ ...op, ts: op.ts! + 1 })) }], 500, { pieceIds: 'derived' });
      expect(restamped.slice(1).map(p => p.id).some(id => wideIds.has(id))).toBe(false);
    });

    it('should derive the first piece\'s id too when it starts with a part of a split op, or with derivedFirst', () => {
      // The first op alone is too big: its skeleton, whose entries a smaller budget may hold more of inline.
      const object = change([{ op: 'replace', path: '/o', value: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, 'w'.repeat(i === 0 ? 150 : 10)])), ts: 5 }]);
      const split = breakChanges([object], 350, { pieceIds: 'derived' });
      expect(split.length).toBeGreaterThan(1);
      expect(split[0].id).toBe(derivedPieceId(object.id, split[0].ops));
      expectPieceInvariants([object], split.map((p, k) => (k === 0 ? { ...p, id: object.id } : p)), 350);
      const all = breakChanges([big], 300, { pieceIds: 'derivedFirst' });
      for (const piece of all) expect(piece.id).toBe(derivedPieceId(big.id, piece.ops));
      for (const piece of all) expect(sizeOf(piece)).toBeLessThanOrEqual(300);
    });

    it('should keep derived ids short and fit the budget whatever the change id', () => {
      const long = { ...big, id: 'L"'.repeat(300) };
      const pieces = breakChanges([long], 1_200, { pieceIds: 'derived' });
      expect(pieces.length).toBeGreaterThan(1);
      for (const piece of pieces) expect(sizeOf(piece)).toBeLessThanOrEqual(1_200);
      for (const piece of pieces.slice(1)) expect(piece.id.length).toBe(65);
      const again = breakChanges([{ ...big, id: pieces[1].id }], 330, { pieceIds: 'derived' });
      expect(again.length).toBeGreaterThan(1);
      for (const piece of again.slice(1)) expect(piece.id.length).toBeLessThanOrEqual(65);
      expect(derivedPieceId('a'.repeat(64), []).length).toBe(89);
    });
  });

  describe('@txt deltas', () => {
    it('should split a long insert into chunks that each retain to their own position', () => {
      const text = 'abcdefghij'.repeat(50);
      const c = change([{ op: '@txt', path: '/body', value: [{ insert: text }] }]);
      const pieces = breakChanges([c], 200);
      expect(pieces.length).toBeGreaterThan(2);
      let cursor = 0;
      for (const piece of pieces) {
        const delta = piece.ops[0].value as { retain?: number; insert?: string }[];
        if (cursor === 0) expect(delta).toHaveLength(1);
        else expect(delta[0]).toEqual({ retain: cursor });
        cursor += (delta[delta.length - 1].insert as string).length;
      }
      expect(inserts(pieces).join('')).toBe(text);
      expect(applyAll({}, pieces)).toEqual(applyAll({}, [c]));
      expectPieceInvariants([c], pieces, 200);
    });

    it('should advance the cursor by retains and inserts, not deletes, and carry attributes', () => {
      const c = change([
        {
          op: '@txt',
          path: '/body',
          value: [{ retain: 3 }, { delete: 2 }, { insert: 'B'.repeat(120), attributes: { bold: true } }, { retain: 1, attributes: { italic: true } }, { insert: 'tail'.repeat(30) }],
        },
      ]);
      const state = { body: { ops: [{ insert: 'Hello world, this is the text\n' }] } };
      const pieces = breakChanges([c], 220);
      expect(pieces.length).toBeGreaterThan(1);
      expect(applyAll(state, pieces)).toEqual(applyAll(state, [c]));
      expectPieceInvariants([c], pieces, 220);
    });

    it('should accept the legacy { ops } value and send bare arrays', () => {
      const c = change([{ op: '@txt', path: '/body', value: { ops: [{ insert: 'q'.repeat(400) }] } }]);
      const pieces = breakChanges([c], 200);
      for (const piece of pieces) expect(Array.isArray(piece.ops[0].value)).toBe(true);
      expect(applyAll({}, pieces)).toEqual(applyAll({}, [c]));
    });

    it('should count UTF-8 bytes, not characters, when chunking multibyte text', () => {
      const text = 'é€'.repeat(200); // 5 bytes per pair of characters
      const c = change([{ op: '@txt', path: '/body', value: [{ insert: text }] }]);
      const pieces = breakChanges([c], 250);
      expectPieceInvariants([c], pieces, 250);
      for (const chunk of inserts(pieces)) expect(utf8ByteLength(chunk)).toBeLessThan(250);
      // Chunks use the whole budget: the next character (at most 3 bytes) would not have fitted.
      for (const piece of pieces.slice(0, -1)) expect(sizeOf(piece)).toBeGreaterThan(250 - 3);
      expect(inserts(pieces).join('')).toBe(text);
    });

    it('should never split a surrogate pair', () => {
      const text = '😀a'.repeat(150);
      const c = change([{ op: '@txt', path: '/body', value: [{ insert: text }] }]);
      for (const maxBytes of [180, 181, 182, 183, 184]) {
        const pieces = breakChanges([c], maxBytes);
        for (const chunk of inserts(pieces)) expect(chunk).not.toMatch(LONE_SURROGATE);
        expect(inserts(pieces).join('')).toBe(text);
        expectPieceInvariants([c], pieces, maxBytes);
      }
    });

    it('should never split a surrogate pair when a custom calculator drives the chunking', () => {
      const text = '😀'.repeat(200);
      const c = change([{ op: '@txt', path: '/body', value: [{ insert: text }] }]);
      // A text budget in UTF-16 units: unlike JSON, it makes a cut inside a pair look cheapest.
      const measure: SizeCalculator = (data) => 10 + inserts([data as Change]).reduce((n, chunk) => n + chunk.length, 0);
      for (let maxBytes = 31; maxBytes < 42; maxBytes++) {
        const pieces = breakChanges([c], maxBytes, { sizeCalculator: measure });
        for (const chunk of inserts(pieces)) expect(chunk).not.toMatch(LONE_SURROGATE);
        expect(inserts(pieces).join('')).toBe(text);
      }
    });

    it('should throw when an embed alone is too big', () => {
      const c = change([{ op: '@txt', path: '/body', value: [{ insert: 'a' }, { insert: { image: 'data:' + 'x'.repeat(500) } }] }]);
      expect(() => breakChanges([c], 300, { docId: 'd' })).toThrow(UnsplittableChangeError);
    });
  });

  describe('structural split of objects and arrays', () => {
    it('should split a big object into a structural op plus per-key ops with the same result, keys in order', () => {
      const value = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, { text: 't'.repeat(30), n: i }]));
      const c = change([{ op: 'replace', path: '/doc', value, ts: 5 }]);
      const pieces = breakChanges([c], 300);
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces[0].ops[0]).toMatchObject({ op: 'replace', path: '/doc' });
      const before = { doc: { stale: true } };
      const result = applyAll(before, pieces);
      expect(result).toEqual(applyAll(before, [c]));
      expect(JSON.stringify(result)).toBe(JSON.stringify(applyAll(before, [c])));
      // Pieces keep the op's extra fields (an LWW timestamp).
      for (const op of pieces.flatMap((p) => p.ops)) expect(op.ts).toBe(5);
      expectPieceInvariants([c], pieces, 300);
    });

    it('should split nested values recursively, using placeholders for big entries', () => {
      const value = { small: 1, big: { inner: Array.from({ length: 30 }, (_, i) => 'item' + i) }, after: 'end' };
      const c = change([{ op: 'add', path: '/x', value }]);
      const pieces = breakChanges([c], 220);
      expect(applyAll({ x: 'old' }, pieces)).toEqual({ x: value });
      expect(JSON.stringify(applyAll({}, pieces))).toBe(JSON.stringify({ x: value }));
      expectPieceInvariants([c], pieces, 220);
    });

    it('should insert a big array element at its index, not overwrite the next one', () => {
      const element = Array.from({ length: 40 }, (_, i) => i * 1000);
      const c = change([{ op: 'add', path: '/list/1', value: { values: element } }]);
      const state = { list: ['a', 'b', 'c'] };
      const pieces = breakChanges([c], 200);
      expect(pieces.length).toBeGreaterThan(1);
      expect(applyAll(state, pieces)).toEqual(applyAll(state, [c]));
    });

    // Found in review: an LWW server stores every write as a `replace` (protocol §4.8), which
    // cannot append, so the entries a split array appended with `add` were dropped, silently.
    it('should, with fillArrays, write a split array into a skeleton of its full length by index, so writes stored as replaces rebuild it (nested arrays too)', () => {
      const list = Array.from({ length: 40 }, (_, i) => ({ text: `item-${i}-`.padEnd(60, 'x'), tags: Array.from({ length: 8 }, (_, j) => `t${i}.${j}`) }));
      const c = change([{ op: 'replace', path: '/list', value: list, ts: 7 }]);
      /** What an LWW server makes of an op (§4.8): every write but a remove is stored as a replace. */
      const asStored = (pieces: Change[]) => pieces.map((p) => ({ ...p, ops: p.ops.map((op) => (op.op === 'remove' ? op : { ...op, op: 'replace' as const })) }));

      const appended = breakChanges([c], 400);
      expect(appended.flatMap((p) => p.ops).some((op) => op.op === 'add')).toBe(true);
      expect(() => applyAll({}, asStored(appended))).toThrow();

      const filled = breakChanges([c], 400, { fillArrays: true });
      expect(filled.length).toBeGreaterThan(1);
      expect(filled.flatMap((p) => p.ops).every((op) => op.op === 'replace')).toBe(true);
      expect(applyAll({ list: ['old'] }, asStored(filled))).toEqual({ list });
      expect(applyAll({}, filled)).toEqual({ list });
      for (const op of filled.flatMap((p) => p.ops)) expect(op.ts).toBe(7);
      expectPieceInvariants([c], filled, 400);
    });

    it('should split a big root replace', () => {
      const value = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, 'v'.repeat(20)]));
      const c = change([{ op: 'replace', path: '', value }]);
      expect(applyAll({ old: 1 }, breakChanges([c], 200))).toEqual(value);
    });

    it('should escape keys holding / and ~ in the per-key paths', () => {
      const value = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`a/b~${i}`, 'v'.repeat(20)]));
      const c = change([{ op: 'replace', path: '/m', value }]);
      expect(applyAll({}, breakChanges([c], 200))).toEqual({ m: value });
    });

    it('should refuse to split what it cannot rebuild exactly: soft ops, appends, forbidden keys', () => {
      const value = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, 'v'.repeat(20)]));
      expect(() => breakChanges([change([{ op: 'add', path: '/m', value, soft: true }])], 200)).toThrow(UnsplittableChangeError);
      expect(() => breakChanges([change([{ op: 'add', path: '/list/-', value }])], 200)).toThrow(UnsplittableChangeError);
      const poisoned = JSON.parse(`{"__proto__": 1, ${Object.keys(value).map((k) => `"${k}": "${'v'.repeat(20)}"`).join(',')}}`) as Record<string, unknown>;
      expect(() => breakChanges([change([{ op: 'replace', path: '/m', value: poisoned }])], 200)).toThrow(UnsplittableChangeError);
    });

    it('should throw for a huge string deep inside an object, naming its size', () => {
      const c = change([{ op: 'replace', path: '/m', value: { a: 1, huge: 'h'.repeat(1000) } }]);
      expect(() => breakChanges([c], 300, { docId: 'doc-9' })).toThrow(/doc-9/);
    });
  });

  describe('unsplittable ops', () => {
    const huge = change([{ op: 'replace', path: '/a', value: 'x'.repeat(500) }, { op: 'replace', path: '/b', value: 1 }]);

    it('should send it alone, oversized, when within maxUnsplittableBytes', () => {
      const pieces = breakChanges([huge], 300, { maxUnsplittableBytes: 1000 });
      expect(pieces.map((p) => p.ops)).toEqual([[huge.ops[0]], [huge.ops[1]]]);
      expect(sizeOf(pieces[0])).toBeGreaterThan(300);
    });

    it('should throw above maxUnsplittableBytes, reporting that limit', () => {
      expect(() => breakChanges([huge], 300, { maxUnsplittableBytes: 400 })).toThrow(expect.objectContaining({ limit: 400 }));
    });

    it('should throw when only the metadata is too big, and not drop the change', () => {
      const heavy = change([], { note: 'n'.repeat(500) });
      expect(() => breakChanges([heavy], 300)).toThrow(UnsplittableChangeError);
      expect(breakChanges([heavy], 300, { maxUnsplittableBytes: 10_000 })).toEqual([heavy]);
    });

    it('should reject a non-positive budget', () => {
      expect(() => breakChanges([huge], 0)).toThrow(RangeError);
      expect(() => breakChanges([huge], Number.NaN)).toThrow(RangeError);
    });
  });

  describe('custom sizeCalculator', () => {
    it('should measure with the calculator, not JSON size', () => {
      const c = change(Array.from({ length: 10 }, (_, i) => ({ op: 'replace', path: `/k${i}`, value: i })));
      const countOps: SizeCalculator = (data) => (data as Change).ops.length;
      const pieces = breakChanges([c], 3, { sizeCalculator: countOps });
      expect(pieces.map((p) => p.ops.length)).toEqual([3, 3, 3, 1]);
      expect(pieces.flatMap((p) => p.ops)).toEqual(c.ops);
    });

    it('should keep a change the calculator says fits, however big its JSON', () => {
      const c = change([{ op: 'replace', path: '/a', value: 'x'.repeat(5000) }]);
      const input = [c];
      expect(breakChanges(input, 100, { sizeCalculator: () => 1 })).toBe(input);
    });

    it('should chunk text by the calculator (a compressed-size estimate)', () => {
      const calculator: SizeCalculator = (data) => Math.ceil(sizeOf(data) * 0.6) + 10;
      const text = 'Lorem ipsum dolor sit amet 😀 '.repeat(40);
      const c = change([{ op: '@txt', path: '/body', value: [{ retain: 1 }, { insert: text }] }]);
      const pieces = breakChanges([c], 200, { sizeCalculator: calculator });
      expect(pieces.length).toBeGreaterThan(2);
      expectPieceInvariants([c], pieces, 200, calculator);
      for (const chunk of inserts(pieces)) expect(chunk).not.toMatch(LONE_SURROGATE);
      const state = { body: { ops: [{ insert: 'X\n' }] } };
      expect(applyAll(state, pieces)).toEqual(applyAll(state, [c]));
    });
  });

  describe('split/rejoin equivalence', () => {
    interface TextIntent {
      kind: 'txt';
      at: number;
      del: number;
      text: string;
      bold: boolean;
      format: number;
    }
    type Intent =
      | TextIntent
      | { kind: 'meta'; value: Record<string, unknown> }
      | { kind: 'list'; value: unknown[] }
      | { kind: 'insertItem'; value: unknown }
      | { kind: 'inc'; n: number }
      | { kind: 'title'; value: string }
      | { kind: 'removeMeta'; key: string };

    const shortString = fc.string({ unit: 'grapheme', maxLength: 12 });
    const leaf = fc.oneof(shortString, fc.integer(), fc.boolean(), fc.constant(null));
    const small = fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), leaf, { maxKeys: 4 }));
    const longText = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 400 }),
      fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      fc.constantFrom('😀', 'é€', 'a"\\\n').chain((s) => fc.integer({ min: 1, max: 150 }).map((n) => s.repeat(n))),
    );
    const intent: fc.Arbitrary<Intent> = fc.oneof(
      fc.record({ kind: fc.constant('txt' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), del: fc.nat({ max: 5 }), text: longText, bold: fc.boolean(), format: fc.nat({ max: 4 }) }),
      fc.record({ kind: fc.constant('meta' as const), value: fc.dictionary(fc.string({ maxLength: 8 }), small, { maxKeys: 25 }) }),
      fc.record({ kind: fc.constant('list' as const), value: fc.array(small, { maxLength: 25 }) }),
      fc.record({ kind: fc.constant('insertItem' as const), value: fc.dictionary(fc.string({ maxLength: 8 }), small, { maxKeys: 10 }) }),
      fc.record({ kind: fc.constant('inc' as const), n: fc.integer({ min: -9, max: 9 }) }),
      fc.record({ kind: fc.constant('title' as const), value: shortString }),
      fc.record({ kind: fc.constant('removeMeta' as const), key: fc.string({ maxLength: 8 }) }),
    );

    function textLength(state: Record<string, unknown>): number {
      const body = state.body as { ops: { insert: unknown }[] } | undefined;
      return body ? body.ops.reduce((n, op) => n + (typeof op.insert === 'string' ? op.insert.length : 1), 0) : 1;
    }

    /** Turns intents into ops valid against the state they will meet, change after change. */
    function buildChanges(initial: Record<string, unknown>, groups: Intent[][]): Change[] {
      let state = initial;
      return groups.map((group, c) => {
        const ops: JSONPatchOp[] = [];
        for (const item of group) {
          let op: JSONPatchOp;
          if (item.kind === 'txt') {
            const length = textLength(state);
            const at = Math.floor(item.at * (length - 1));
            const del = Math.min(item.del, length - 1 - at);
            const delta: Record<string, unknown>[] = [];
            if (at > 0) delta.push({ retain: at });
            if (del > 0) delta.push({ delete: del });
            if (item.text.length > 0) delta.push(item.bold ? { insert: item.text, attributes: { bold: true } } : { insert: item.text });
            const room = length - 1 - at - del;
            if (item.format > 0 && room > 0) delta.push({ retain: Math.min(item.format, room), attributes: { italic: true } });
            if (delta.length === 0) delta.push({ insert: 'x' });
            op = { op: '@txt', path: '/body', value: delta };
          } else if (item.kind === 'meta') op = { op: 'replace', path: '/meta', value: item.value };
          else if (item.kind === 'list') op = { op: 'replace', path: '/list', value: item.value };
          else if (item.kind === 'insertItem') op = { op: 'add', path: '/list/0', value: item.value };
          else if (item.kind === 'inc') op = { op: '@inc', path: '/n', value: item.n };
          else if (item.kind === 'title') op = { op: 'replace', path: '/title', value: item.value };
          else op = { op: 'remove', path: `/meta/${item.key.replace(/~/g, '~0').replace(/\//g, '~1')}` };
          ops.push(op);
          state = applyPatch(state, [op]);
        }
        return change(ops, { id: `chg${String(c).padStart(9, '0')}`, rev: 4 + c });
      });
    }

    const initial = { title: 'T', n: 0, list: [] as unknown[], meta: {}, body: { ops: [{ insert: 'Hello 😀 world\n' }] } };
    const groups = fc.array(fc.array(intent, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 });
    const calculators: [string, SizeCalculator | undefined][] = [
      ['the default measure', undefined],
      ['a custom calculator', (data) => Math.ceil(sizeOf(data) * 0.7) + 15],
    ];

    for (const [name, sizeCalculator] of calculators) {
      it(`should give the same document when the pieces are applied in order (${name})`, () => {
        fc.assert(
          fc.property(groups, fc.integer({ min: 330, max: 900 }), (intents, maxBytes) => {
            const changes = buildChanges(initial, intents);
            const pieces = breakChanges(changes, maxBytes, { sizeCalculator, docId: 'prop' });
            expect(applyAll(initial, pieces)).toEqual(applyAll(initial, changes));
            expectPieceInvariants(changes, pieces, maxBytes, sizeCalculator ?? sizeOf);
            for (const chunk of inserts(pieces)) expect(chunk).not.toMatch(LONE_SURROGATE);
          }),
          { numRuns: 500 },
        );
      });
    }
  });
});
