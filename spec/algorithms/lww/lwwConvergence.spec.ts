import fc from 'fast-check';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { consolidateFieldOp, consolidateOps, convertDeltaOps } from '../../../src/algorithms/lww/consolidateOps.js';
import type { JSONPatchOp } from '../../../src/types.js';

/**
 * LWW convergence: the same set of ops, delivered in any order and any batching, consolidated
 * into a store (client style: deltas kept; server style: rows made concrete by convertDeltaOps)
 * materialises to the same document.
 *
 * The domain is where last-write-wins can converge without a serialising server (documented in
 * consolidateOps): plain writes at nested paths with distinct timestamps per subtree (ties within
 * one change, and across unrelated subtrees), soft writes, and delta ops on fields that plain
 * writes do not touch. Container paths never receive a primitive (a schema-respecting document).
 */

type Style = 'client' | 'server';

/** A store of rows, one op per path, kept in the order they were saved (= revision order). */
class RowStore {
  readonly rows = new Map<string, JSONPatchOp>();
  /** The document as a client following the store builds it: each batch's saved rows applied, parents first, on the last. */
  followed: unknown = {};

  constructor(private readonly style: Style) {}

  deliver(batch: JSONPatchOp[]): void {
    const { opsToSave, pathsToDelete } = consolidateOps([...this.rows.values()], batch);
    for (const path of pathsToDelete) this.rows.delete(path);
    const toStore = this.style === 'server' ? convertDeltaOps(opsToSave) : opsToSave;
    for (const op of toStore) {
      this.rows.delete(op.path);
      this.rows.set(op.path, op);
    }
    const depth = (op: JSONPatchOp) => op.path.split('/').length;
    this.followed = applyPatch(this.followed, [...toStore].sort((a, b) => depth(a) - depth(b)), { mode: 'lenient' });
  }

  /** The document: rows applied in save order (what a client replaying by revision sees). */
  state(): unknown {
    return applyPatch({}, [...this.rows.values()], { mode: 'lenient' });
  }

  /** The document with rows applied parents first (what a server rebuilding by path sees). */
  stateByDepth(): unknown {
    const depth = (op: JSONPatchOp) => op.path.split('/').length;
    return applyPatch({}, [...this.rows.values()].sort((a, b) => depth(a) - depth(b)), { mode: 'lenient' });
  }
}

interface Slot {
  /** Position key in a delivery order. */
  key: number;
  /** End the batch after this op. */
  cut: boolean;
}

interface GenOp {
  op: JSONPatchOp;
  first: Slot;
  second: Slot;
}

type Change = GenOp[];

const slot = fc.record({ key: fc.nat({ max: 1000 }), cut: fc.boolean() });
const leafValue = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b'), fc.constant(null), fc.boolean());

/** Plain writes (no soft ops) at nested paths: replace, add and remove of containers and leaves. */
function structuralOp(lane: string): fc.Arbitrary<JSONPatchOp> {
  const zValue = fc.record({ w: leafValue }, { requiredKeys: [] });
  const aValue = fc.record({ x: leafValue, y: leafValue, z: zValue }, { requiredKeys: [] });
  const container = (path: string, value: fc.Arbitrary<Record<string, unknown>>) =>
    fc.oneof(
      value.map((v): JSONPatchOp => ({ op: 'replace', path, value: v })),
      value.filter((v) => Object.keys(v).length > 0).map((v): JSONPatchOp => ({ op: 'add', path, value: v })),
      fc.constant<JSONPatchOp>({ op: 'remove', path }),
    );
  const leaf = (path: string) =>
    fc.oneof(
      leafValue.map((v): JSONPatchOp => ({ op: 'replace', path, value: v })),
      leafValue.map((v): JSONPatchOp => ({ op: 'add', path, value: v })),
      fc.constant<JSONPatchOp>({ op: 'remove', path }),
    );
  return fc.oneof(
    container(`${lane}/a`, aValue),
    container(`${lane}/a/z`, zValue),
    leaf(`${lane}/a/x`),
    leaf(`${lane}/a/y`),
    leaf(`${lane}/a/z/w`),
    leaf(`${lane}/b`),
  );
}

/**
 * Soft writes where they are meant to be used: initialising a map (`add {}`) that others fill,
 * and defaults (`soft: true`, one value per field, as writers agree on a default) next to plain
 * writes of the same field. No removes or parent overwrites here: a soft write skipped because its
 * path existed is not revived when an older remove arriving later empties the path, and of two
 * soft writes of different values the first to arrive stays (documented limits of consolidateOps).
 */
function softOp(lane: string, anyDefault = false): fc.Arbitrary<JSONPatchOp> {
  const field = (path: string) =>
    fc.oneof(
      leafValue.map((v): JSONPatchOp => ({ op: 'replace', path, value: v })),
      anyDefault
        ? leafValue.map((v): JSONPatchOp => ({ op: 'replace', path, value: v, soft: true }))
        : fc.constant<JSONPatchOp>({ op: 'replace', path, value: `default of ${path}`, soft: true }),
    );
  return fc.oneof(
    fc.constant<JSONPatchOp>({ op: 'add', path: `${lane}/map`, value: {} }),
    fc.constant<JSONPatchOp>({ op: 'add', path: `${lane}/map/list`, value: [] }),
    field(`${lane}/map/x`),
    field(`${lane}/map/y`),
    field(`${lane}/k`),
  );
}

const counterOp: fc.Arbitrary<JSONPatchOp> = fc.oneof(
  fc.integer({ min: -5, max: 5 }).map((value): JSONPatchOp => ({ op: '@inc', path: '/n/i', value })),
  fc.integer({ min: -9, max: 9 }).map((value): JSONPatchOp => ({ op: '@max', path: '/n/max', value })),
  fc.integer({ min: -9, max: 9 }).map((value): JSONPatchOp => ({ op: '@min', path: '/n/min', value })),
  // Bits 0-6 only ever turn on, bits 7-14 only ever turn off: masks that commute.
  fc.tuple(fc.nat({ max: 127 }), fc.nat({ max: 255 })).map(([on, off]): JSONPatchOp => ({ op: '@bit', path: '/n/flags', value: on | ((off << 7) << 15) })),
);

const genOp = (op: fc.Arbitrary<JSONPatchOp>) => fc.record({ op, first: slot, second: slot });

/** Changes of one subtree: timestamps distinct between its changes, shared within one. */
function lane(op: fc.Arbitrary<JSONPatchOp>): fc.Arbitrary<Change[]> {
  return fc
    .tuple(fc.array(fc.array(genOp(op), { minLength: 1, maxLength: 3 }), { maxLength: 5 }), fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 5, maxLength: 5 }))
    .map(([changes, stamps]) => changes.map((change, i) => change.map((g) => ({ ...g, op: { ...g.op, ts: stamps[i] } }))));
}

/** Counter changes: any timestamps, ties everywhere (deltas ignore them). */
const counterLane: fc.Arbitrary<Change[]> = fc.array(
  fc.tuple(fc.array(genOp(counterOp), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 12 })).map(([change, ts]) => change.map((g) => ({ ...g, op: { ...g.op, ts } }))),
  { maxLength: 4 },
);

const allChanges: fc.Arbitrary<Change[]> = fc
  .tuple(lane(structuralOp('/s')), lane(structuralOp('/t')), lane(softOp('/u')), counterLane)
  .map((lanes) => lanes.flat());

/** As `allChanges`, with soft writes of any value (writers that disagree on a default). */
const disagreeingDefaults: fc.Arbitrary<Change[]> = fc
  .tuple(lane(structuralOp('/s')), lane(structuralOp('/t')), lane(softOp('/u', true)), counterLane)
  .map((lanes) => lanes.flat());

/** Batches in the delivery order given by `which` slots; each change's own ops keep their order. */
function delivery(changes: Change[], which: 'first' | 'second'): JSONPatchOp[][] {
  const entries = changes.flatMap((change, c) => change.map((g, i) => ({ c, i, slot: g[which] })));
  const order = entries.map((e, index) => ({ ...e, index })).sort((a, b) => a.slot.key - b.slot.key || a.index - b.index);
  const next = new Map<number, number>();
  const batches: JSONPatchOp[][] = [[]];
  for (const entry of order) {
    const i = next.get(entry.c) ?? 0;
    next.set(entry.c, i + 1);
    batches[batches.length - 1].push(changes[entry.c][i].op);
    if (entry.slot.cut) batches.push([]);
  }
  return batches.filter((b) => b.length > 0);
}

function materialise(batches: JSONPatchOp[][], style: Style): RowStore {
  const store = new RowStore(style);
  for (const batch of batches) store.deliver(batch);
  return store;
}

/** Drops empty objects (and then objects left empty) from a value. */
function prune(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const pruned = prune(child);
    const empty = typeof pruned === 'object' && pruned !== null && !Array.isArray(pruned) && Object.keys(pruned).length === 0;
    if (!empty) out[key] = pruned;
  }
  return out;
}

/**
 * A document with the empty objects of the structural lanes (`/s`, `/t`) dropped. A field's write
 * makes its missing parents, and its removal leaves them: the rows keep such an object once a
 * removal arrives after the write that made it (`consolidateOps`' `keepStanding`), not when the
 * removal came first and the older write was rejected. So delivery orders agree up to those empty
 * objects (a server serialises one order, which all its clients follow); the soft lane `/u`
 * (maps initialised empty on purpose) is compared as it is.
 */
function structuralPruned(state: unknown): unknown {
  const { s, t, ...rest } = state as Record<string, unknown>;
  return { ...rest, ...(prune({ s, t }) as object) };
}

describe('LWW convergence', () => {
  it('should reach the same document whatever the delivery order and batching (client and server style)', () => {
    fc.assert(
      fc.property(allChanges, (changes) => {
        const canonical = changes.map((change) => change.map((g) => g.op));
        const reference = structuralPruned(materialise(canonical, 'client').state());
        for (const style of ['client', 'server'] as const) {
          for (const batches of [canonical, delivery(changes, 'first'), delivery(changes, 'second')]) {
            const store = materialise(batches, style);
            expect(structuralPruned(store.state())).toEqual(reference);
            expect(structuralPruned(store.stateByDepth())).toEqual(reference);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  // The server's clients build the doc from its broadcasts as they come, a client loading it from
  // the rows left: both must be the same doc. Found in review: an object that only a field's write
  // had made stayed (empty) with the former once the field was removed, not in the rows; and the
  // older of two soft writes took the row but, sent as the soft write it is, was skipped by them.
  it('should leave a client that followed every batch with the document the rows make', () => {
    fc.assert(
      fc.property(disagreeingDefaults, (changes) => {
        for (const batches of [changes.map((change) => change.map((g) => g.op)), delivery(changes, 'first'), delivery(changes, 'second')]) {
          const store = materialise(batches, 'server');
          expect(store.followed).toEqual(store.state());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('should equal applying the ops in timestamp order when every op has its own timestamp', () => {
    // The meaning of last-write-wins for plain writes: as if everyone had written in time order,
    // up to the empty parents a sequential replay leaves behind (a write creates its missing
    // parents; a later remove of the child leaves them empty; rows record that only when the
    // remove arrives after the write).
    const plainLane = fc
      .tuple(fc.array(genOp(structuralOp('/s')), { minLength: 1, maxLength: 10 }), fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 10, maxLength: 10 }))
      .map(([ops, stamps]) => ops.map((g, i) => ({ ...g, op: { ...g.op, ts: stamps[i] } })));
    fc.assert(
      fc.property(plainLane, (ops) => {
        const inTimeOrder = [...ops].sort((a, b) => (a.op.ts ?? 0) - (b.op.ts ?? 0)).map((g) => g.op);
        const expected = applyPatch({}, inTimeOrder, { mode: 'lenient' });
        const changes = ops.map((g) => [g]);
        expect(prune(materialise(delivery(changes, 'first'), 'server').state())).toEqual(prune(expected));
      }),
      { numRuns: 500 },
    );
  });
});

describe('LWW edge cases (protocol §6, pure-function level)', () => {
  it('a parent write losing to a newer stored parent keeps the surviving newer children', () => {
    const storedParent: JSONPatchOp = { op: 'replace', path: '/p', value: { a: 1 }, ts: 10 };
    const storedChild: JSONPatchOp = { op: 'replace', path: '/p/b', value: 2, ts: 11 };
    const result = consolidateOps([storedParent, storedChild], [{ op: 'replace', path: '/p', value: { stale: true }, ts: 5 }]);
    expect(result).toEqual({ opsToSave: [], pathsToDelete: [], opsToReturn: [storedParent] });
  });

  it('delta ops on a removed field restart from a fresh base', () => {
    const removed: JSONPatchOp = { op: 'remove', path: '/n', ts: 1 };
    expect(consolidateOps([removed], [{ op: '@inc', path: '/n', value: 3, ts: 2 }]).opsToSave).toEqual([{ op: 'replace', path: '/n', value: 3, ts: 2 }]);
    expect(consolidateOps([removed], [{ op: '@bit', path: '/n', value: 1 << 4, ts: 2 }]).opsToSave).toEqual([{ op: 'replace', path: '/n', value: 16, ts: 2 }]);
  });

  it('@min/@max on a missing field set the operand (client and server)', () => {
    for (const op of ['@min', '@max']) {
      const incoming: JSONPatchOp = { op, path: '/m', value: 42, ts: 1 };
      expect(consolidateFieldOp({ op: 'remove', path: '/m' }, incoming)?.value).toBe(42);
      expect(convertDeltaOps(consolidateOps([], [incoming]).opsToSave)).toEqual([{ op: 'replace', path: '/m', value: 42, ts: 1 }]);
    }
  });

  it('increments from two clients both count, whichever arrives first', () => {
    const a: JSONPatchOp = { op: '@inc', path: '/n', value: 2, ts: 5 };
    const b: JSONPatchOp = { op: '@inc', path: '/n', value: 3, ts: 1 };
    for (const order of [[a, b], [b, a]]) {
      const store = new RowStore('server');
      for (const op of order) store.deliver([op]);
      expect(store.state()).toEqual({ n: 5 });
    }
  });

  it('an offline parent write arriving late does not wipe newer children (anchor would)', () => {
    const store = new RowStore('server');
    store.deliver([{ op: 'replace', path: '/p/title', value: 'new', ts: 20 }]);
    store.deliver([{ op: 'replace', path: '/p', value: { title: 'old', body: 'old' }, ts: 10 }]);
    expect(store.state()).toEqual({ p: { title: 'new', body: 'old' } });
  });

  it('ties between different changes resolve by arrival order: only a serialising server makes them converge', () => {
    // Documents the limit: the tie rule (incoming wins) is order-dependent by design.
    const a: JSONPatchOp = { op: 'replace', path: '/t', value: 'a', ts: 5 };
    const b: JSONPatchOp = { op: 'replace', path: '/t', value: 'b', ts: 5 };
    const ab = new RowStore('server');
    ab.deliver([a]);
    ab.deliver([b]);
    const ba = new RowStore('server');
    ba.deliver([b]);
    ba.deliver([a]);
    expect(ab.state()).toEqual({ t: 'b' });
    expect(ba.state()).toEqual({ t: 'a' });
  });

  it('a delta and an overwrite of the same field commute only in time order (outside the convergence domain)', () => {
    const set: JSONPatchOp = { op: 'replace', path: '/n', value: 10, ts: 1 };
    const inc: JSONPatchOp = { op: '@inc', path: '/n', value: 1, ts: 2 };
    const inOrder = new RowStore('server');
    inOrder.deliver([set]);
    inOrder.deliver([inc]);
    const late = new RowStore('server');
    late.deliver([inc]);
    late.deliver([set]);
    expect(inOrder.state()).toEqual({ n: 11 });
    expect(late.state()).toEqual({ n: 1 });
  });
});
