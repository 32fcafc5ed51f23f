import fc from 'fast-check';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { transformPatch } from '../../src/algorithms/transformPatch.js';
import type { JSONPatchOp } from '../../src/types.js';
import { randomDoc, randomOps, type OpFamilies, type Rand } from '../helpers/otSimulation.js';

const apply = <T>(doc: T, ops: readonly JSONPatchOp[]): T => applyPatch(doc, ops, { mode: 'strict' });
const fromGen = (g: fc.GeneratorValue): Rand => ({ int: (n) => g(fc.nat, { max: n - 1 }) });

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

const IN_PLACE = new Set(['@inc', '@bit', '@max', '@min', '@txt']);
const arrayOf = (path: string): string => (/\/\d+$/.test(path) ? path.replace(/\/\d+$/, '') : path);
const related = (p: string, q: string): boolean => p === q || p.startsWith(`${q}/`) || q.startsWith(`${p}/`);
/** Documented TP1 gap: moves of the two sides that feed each other (a cycle, X→Y against Y→X). */
function movesCross(a: JSONPatchOp[], b: JSONPatchOp[]): boolean {
  const moves = (ops: JSONPatchOp[]) => ops.filter((op) => op.op === 'move' || op.op === 'copy').map((op) => ({ from: op.from as string, to: arrayOf(op.path) }));
  const ma = moves(a);
  const mb = moves(b);
  const feeds = (xs: typeof ma, ys: typeof ma) => xs.some((x) => ys.some((y) => related(x.to, y.from)));
  return feeds(ma, mb) && feeds(mb, ma);
}

/**
 * Documented TP1 gap: a move/copy F → P (P a key) makes the other side's ops on P and on F meet
 * on one value, in an order that depends on the frame; they may not commute.
 */
function mergesValues(a: JSONPatchOp[], b: JSONPatchOp[]): boolean {
  const under = (p: string | undefined, q: string): boolean => p !== undefined && (p === q || p.startsWith(`${q}/`));
  return a.some(
    (m) =>
      (m.op === 'move' || m.op === 'copy') &&
      !/\/\d+$/.test(m.path) &&
      b.some((op) => IN_PLACE.has(op.op) && op.path === m.path) &&
      b.some((op) => under(op.path, m.from as string) || under(op.from, m.from as string)),
  );
}

/** FC_SEED / FC_PATH replay a failure fast-check printed. */
const replay = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {};

/**
 * Documented TP1 gap: a list that copies a value and then moves or copies from the copy (or
 * back onto its source): a concurrent edit reaches the same value along two routes.
 */
function chainedCopies(ops: JSONPatchOp[]): boolean {
  return ops.some(
    (c, i) =>
      c.op === 'copy' &&
      ops.slice(i + 1).some((m) => (m.op === 'move' || m.op === 'copy') && (related(m.from as string, c.path) || related(m.path, c.from as string))),
  );
}

describe('transformPatch', () => {
  describe('convergence (TP1)', () => {
    const families: OpFamilies = { moves: true, append: false, soft: true, test: true, textResets: true };
    it('should reach one state from both orders of two concurrent op lists', () => {
      fc.assert(
        fc.property(fc.gen(), (g) => {
          const rand = fromGen(g);
          const doc = randomDoc(rand);
          const a = randomOps(doc, rand, 1 + rand.int(7), families);
          const b = randomOps(doc, rand, 1 + rand.int(7), families);
          fc.pre(!movesCross(a, b) && !mergesValues(a, b) && !mergesValues(b, a) && !chainedCopies(a) && !chainedCopies(b));
          const b2 = transformPatch(a, b);
          const a2 = transformPatch(b, a, true);
          let left: unknown;
          let right: unknown;
          try {
            left = apply(apply(doc, a), b2);
            right = apply(apply(doc, b), a2);
          } catch (e) {
            throw new Error(`TP1 ${JSON.stringify({ doc, a, b, b2, a2, error: String(e) })}`);
          }
          if (JSON.stringify(sortKeys(left)) !== JSON.stringify(sortKeys(right))) {
            throw new Error(`TP1 ${JSON.stringify({ doc, a, b, b2, a2, left, right })}`);
          }
        }),
        { numRuns: 3000, ...replay },
      );
    });
  });

  describe('strict applicability (every family, including the TP1 gaps)', () => {
    it('should produce ops that apply strictly in both frames', () => {
      fc.assert(
        fc.property(fc.gen(), (g) => {
          const rand = fromGen(g);
          const doc = randomDoc(rand);
          const a = randomOps(doc, rand, 1 + rand.int(7));
          const b = randomOps(doc, rand, 1 + rand.int(7));
          const b2 = transformPatch(a, b);
          const a2 = transformPatch(b, a, true);
          try {
            apply(apply(doc, a), b2);
            apply(apply(doc, b), a2);
          } catch (e) {
            throw new Error(`TP1 ${JSON.stringify({ doc, a, b, b2, a2, error: String(e) })}`);
          }
        }),
        { numRuns: 3000, ...replay },
      );
    });
  });
});
