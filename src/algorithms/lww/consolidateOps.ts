/**
 * Last-write-wins conflict resolution per path (protocol §4.8). One implementation for both
 * sides: the client folds fresh local ops into its pending set, the reference server folds a
 * commit into its stored rows. Pure: time arrives as each op's `ts`, no clock is read.
 */
import type { JSONPatchOp } from '../../types.js';
import { applyPatch } from '../applyPatch.js';
import { deepEqual } from '../deepEqual.js';
import { pointerDepth } from '../jsonPointer.js';
import { runToEnd, type Steps } from '../../util/steps.js';

const DELTA_OPS: ReadonlySet<string> = new Set(['@inc', '@bit', '@max', '@min']);
const LOW_15_BITS = 0x7fff;

/**
 * True for the ops that combine with the current value instead of overwriting it: `@inc`,
 * `@bit`, `@max`, `@min`.
 *
 * Why they are special: two clients incrementing a counter both mean "add mine", so neither
 * may win by timestamp; their effects commute, so they are combined whatever their order.
 *
 * @example
 * isDeltaOp({ op: '@inc', path: '/n', value: 1 }); // true
 * isDeltaOp({ op: 'replace', path: '/n', value: 1 }); // false
 */
export function isDeltaOp(op: JSONPatchOp): boolean {
  return DELTA_OPS.has(op.op);
}

/**
 * True for a soft write: `soft: true`, or an `add` of an empty object or array (protocol §2.4).
 *
 * Why: "make sure `/tags` is a map" must never wipe the map another client already filled, so a
 * soft write only takes effect where nothing is. Same test as `applyPatch` uses.
 *
 * @example
 * isSoftOp({ op: 'add', path: '/tags', value: {} });            // true
 * isSoftOp({ op: 'replace', path: '/a', value: 1, soft: true }); // true
 * isSoftOp({ op: 'add', path: '/tags', value: { a: 1 } });      // false
 */
export function isSoftOp(op: JSONPatchOp): boolean {
  if (op.soft === true) return true;
  if (op.op !== 'add' || typeof op.value !== 'object' || op.value === null) return false;
  return Array.isArray(op.value) ? op.value.length === 0 : Object.keys(op.value).length === 0;
}

/** What `applyDelta` computed: the new value, or the fact that the op cannot apply there. */
export type DeltaResult = { ok: true; value: unknown } | { ok: false };

/**
 * Applies one delta op (`@inc`, `@bit`, `@max`, `@min`) to a value, exactly as `applyPatch`
 * would apply it to a document holding that value. `undefined` means "nothing there", which is
 * the fresh base: 0 for `@inc`/`@bit`, the operand itself for `@max`/`@min`.
 *
 * Why through `applyPatch`: what LWW consolidation stores must be what a client computes when it
 * applies the same ops, so both use the one implementation of the op semantics.
 * Limits: a bad operand, or a current value of the wrong type (`@inc` on a string), gives
 * `{ ok: false }`, as the op would fail there.
 *
 * @example
 * applyDelta(2, { op: '@inc', path: '/n', value: 3 });          // { ok: true, value: 5 }
 * applyDelta(undefined, { op: '@min', path: '/n', value: 7 });  // { ok: true, value: 7 }
 * applyDelta('x', { op: '@inc', path: '/n', value: 1 });        // { ok: false }
 */
export function applyDelta(current: unknown, op: JSONPatchOp): DeltaResult {
  if (!isDeltaOp(op)) return { ok: false };
  const state = current === undefined ? {} : { v: current };
  try {
    const next = applyPatch<{ v?: unknown }>(state, [{ op: op.op, path: '/v', value: op.value }]);
    return { ok: true, value: next.v };
  } catch {
    return { ok: false };
  }
}

/**
 * Combines two `@bit` masks into one with the effect of `first` then `second`.
 *
 * Why: two pending flag changes on one field must collapse into a single op that sets and
 * clears the same bits as applying both in order: the later one decides a bit both touch.
 *
 * @example
 * combineBitmasks(1 << 0, 1 << (0 + 15)); // 1 << 15: bit 0 turned on then off = off
 */
export function combineBitmasks(first: number, second: number): number {
  const on1 = first & LOW_15_BITS;
  const off1 = (first >> 15) & LOW_15_BITS;
  const on2 = second & LOW_15_BITS;
  const off2 = (second >> 15) & LOW_15_BITS;
  const on = (on1 & ~off2) | on2;
  const off = (off1 | off2) & ~on;
  return on | (off << 15);
}

function validDeltaOperand(op: JSONPatchOp): boolean {
  if (op.op === '@max' || op.op === '@min') return typeof op.value === 'number' || typeof op.value === 'string';
  return typeof op.value === 'number';
}

function maxTs(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

function withTs(op: JSONPatchOp, ts: number | undefined): JSONPatchOp {
  if (ts === undefined) {
    const { ts: _dropped, ...rest } = op;
    return rest as JSONPatchOp;
  }
  return { ...op, ts };
}

/**
 * The timestamp rule for two writes: does the existing op beat the incoming one?
 * An incoming op without `ts` wins (including when neither has one); an existing op without
 * `ts` beats an incoming op that has one; otherwise the existing op wins only when strictly newer.
 */
function isExistingNewer(existingTs: number | undefined, incomingTs: number | undefined): boolean {
  if (incomingTs === undefined) return false;
  if (existingTs === undefined) return true;
  return existingTs > incomingTs;
}

/** Both timestamps known and `a` strictly newer: the cross-level (ancestor/descendant) rule. */
function strictlyNewer(a: JSONPatchOp, b: JSONPatchOp): boolean {
  return a.ts !== undefined && b.ts !== undefined && a.ts > b.ts;
}

/** A soft write made plain: `replace` for an `add` (whose empty container would be soft again), no `soft` flag. */
function hardened(op: JSONPatchOp): JSONPatchOp {
  const { soft: _soft, ...plain } = op;
  return op.op === 'add' ? { ...plain, op: 'replace' } : plain;
}

function isRemoved(op: JSONPatchOp): boolean {
  return op.op === 'remove' || (op.value === undefined && !isDeltaOp(op));
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

/**
 * Resolves the write at one path: what should be stored there after `incoming` arrives on top of
 * `existing`, or `null` when nothing changes (the existing op stands).
 *
 * The rules (protocol §4.8), and why:
 * - Deltas (`@inc`, `@bit`, `@max`, `@min`) always combine, timestamps ignored, `ts` = the newer
 *   of the two: increments from two clients must both count. On a `remove` (or valueless op)
 *   the delta restarts from a fresh base and becomes a `replace`; on the same delta kind the
 *   operands combine (sum, mask, max, min); on anything else the delta is applied to the existing
 *   value and the existing op type is kept. A result equal to the existing value → `null`.
 *   A delta with a bad operand (`@inc` of a string) → `null`: it could never apply.
 * - A soft write never overwrites: `null` when something is stored, a soft write included (as
 *   the anchor: the first to arrive stays, whatever their times; the older one taking the row
 *   went out as the soft write it is, which every client holding the newer one skipped, so a
 *   client loading the doc read another value). One refinement over the anchor: over a stored
 *   removal that is not newer, the path is empty, so the soft write is stored as a hard one
 *   (`replace`): a user who deletes a field and sets it to `{}` again keeps the `{}` (the anchor
 *   drops it); symmetrically, a stored soft write stands against an older removal that arrives later.
 * - Otherwise the timestamp rule: an incoming op without `ts` wins; an existing op without `ts`
 *   wins; else the existing op wins only when strictly newer. Ties go to the incoming op, so in
 *   one batch the later op wins, as it would when applied in order. Refinement: a hard write
 *   always beats a stored soft write (had it come first, the soft write would have been a no-op).
 *
 * Limits: ties are resolved by arrival order, so two different writes with the same `ts`
 * converge only through one serialising party (the server), and so are two soft writes of
 * different values at one path (defaults converge when their writers agree on the value). Mixing delta kinds on one path
 * (`@inc` then `@max`) has no meaningful single-op result; the anchor's rule is kept.
 * `@txt`, `move`, `copy` and `test` have no LWW meaning and are treated as plain writes.
 *
 * @param existing The op stored at the path, if any.
 * @param incoming The new op at the same path.
 * @returns The op to store, or `null` to keep `existing`.
 * @example
 * consolidateFieldOp({ op: '@inc', path: '/n', value: 2, ts: 1 }, { op: '@inc', path: '/n', value: 3, ts: 5 });
 * // { op: '@inc', path: '/n', value: 5, ts: 5 }
 * consolidateFieldOp({ op: 'replace', path: '/t', value: 'a', ts: 9 }, { op: 'replace', path: '/t', value: 'b', ts: 5 });
 * // null: the stored write is newer
 */
export function consolidateFieldOp(existing: JSONPatchOp | undefined, incoming: JSONPatchOp): JSONPatchOp | null {
  if (isDeltaOp(incoming)) {
    if (!validDeltaOperand(incoming)) return null;
    if (existing === undefined) return incoming;
    const ts = maxTs(existing.ts, incoming.ts);
    if (isRemoved(existing)) {
      const fresh = applyDelta(undefined, incoming);
      return fresh.ok ? withTs({ ...incoming, op: 'replace', value: fresh.value }, ts) : null;
    }
    let combined: DeltaResult;
    if (existing.op === '@bit' && incoming.op === '@bit') {
      combined = typeof existing.value === 'number' ? { ok: true, value: combineBitmasks(existing.value, incoming.value as number) } : { ok: false };
    } else {
      combined = applyDelta(existing.value, incoming);
    }
    if (!combined.ok || deepEqual(combined.value, existing.value)) return null;
    const op = existing.op === incoming.op ? incoming.op : existing.op;
    return withTs({ ...incoming, op, value: combined.value }, ts);
  }

  if (existing === undefined) return incoming;
  const existingIsSoftWrite = isSoftOp(existing) && !isDeltaOp(existing);

  if (isSoftOp(incoming)) {
    // Over a removal the path is empty, so a later soft write takes it: stored as a hard write,
    // since whoever still holds the removed value (the server, while the removal is pending
    // here) would otherwise skip it.
    return isRemoved(existing) && !isExistingNewer(existing.ts, incoming.ts) ? hardened(incoming) : null;
  }
  // A stored soft write loses to a hard one: had that come first, the soft write would have found
  // the path taken. But not to an older removal: after it, the path was empty for the soft write.
  if (existingIsSoftWrite) return isRemoved(incoming) && strictlyNewer(existing, incoming) ? null : incoming;
  return isExistingNewer(existing.ts, incoming.ts) ? null : incoming;
}

/** What `consolidateOps` decided for a batch. */
export interface ConsolidatedOps {
  /** Ops to write, one per path, in the order they must be applied (ancestors before descendants). */
  opsToSave: JSONPatchOp[];
  /** Existing paths to delete (superseded by a parent write). Never also in `opsToSave`. */
  pathsToDelete: string[];
  /** Corrections: the stored op at each path where an incoming write was rejected. */
  opsToReturn: JSONPatchOp[];
}

/**
 * The ancestor paths of a JSON Pointer, nearest first, ending with the root `''`.
 *
 * Why the root counts: a write at `''` replaces the whole document, so it is every path's
 * ancestor in LWW's parent/child rules. Works on the raw pointer text (no unescaping needed:
 * `~1` never contains a `/`).
 *
 * @example
 * ancestorPaths('/a/b/c'); // ['/a/b', '/a', '']
 * ancestorPaths('');       // []
 */
export function ancestorPaths(path: string): string[] {
  const ancestors: string[] = [];
  for (let slash = path.lastIndexOf('/'); slash >= 0; slash = path.lastIndexOf('/', slash - 1)) {
    ancestors.push(path.slice(0, slash));
    if (slash === 0) break;
  }
  if (path !== '' && ancestors[ancestors.length - 1] !== '') ancestors.push('');
  return ancestors;
}

function unescapeSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The value at `path` inside the value of the op stored at `ancestorPath`, if it is there. */
function valueInside(ancestor: JSONPatchOp, ancestorPath: string, path: string): { found: boolean; value?: unknown } {
  if (isRemoved(ancestor)) return { found: false };
  const rest = ancestorPath === '' && !path.startsWith('/') ? path : path.slice(ancestorPath.length + 1);
  let current: unknown = ancestor.value;
  for (const raw of rest.split('/')) {
    const key = unescapeSegment(raw);
    if (!isContainer(current) || !Object.prototype.hasOwnProperty.call(current, key)) return { found: false };
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

/**
 * Folds new ops into a set of stored ops (one op per path), last-write-wins per path
 * (protocol §4.8). The client uses it to merge fresh local ops into its pending set, the server
 * to merge a commit into its stored rows, so both resolve conflicts identically.
 *
 * Per new op, in order (each decision sees the ones before it, so two `@inc` in one batch sum):
 * 1. Ancestors. A stored write at an ancestor path that is a primitive (or a delta) rejects the
 *    op, and that ancestor op is returned as a correction. So does a (non-soft) ancestor write
 *    strictly newer than the op: it replaced the whole subtree after the op was made.
 * 2. Same path: `consolidateFieldOp`. A rejected plain write returns the stored op as a
 *    correction.
 * 3. No op at the path: a soft write is skipped when a descendant write (not a remove) is stored
 *    or the nearest ancestor's value already contains the path. A delta under a stored ancestor becomes a
 *    concrete `replace` computed from the value that ancestor holds (its base is known).
 * 4. A saved plain write supersedes the stored descendants: they are deleted, except those
 *    strictly newer than it, which survive and are saved again after it (so applying
 *    `opsToSave` in order, or by revision, puts them back on top).
 * 5. A saved removal that leaves its parent object with no row to make it (the object stood only
 *    as the missing parent a field's write made) saves an empty object there: applied in order,
 *    a removed field leaves its object, and a reader of the rows left must find it too.
 *
 * Why the refinements over the anchor (rule 1's "strictly newer ancestor", rule 3's delta base,
 * rule 4's surviving newer descendants, and a removed ancestor being kept rather than deleted):
 * with them, any delivery order of the same ops ends in the same document, which the anchor's
 * order-blind parent/child rules do not give when an older op arrives late (an offline client).
 * When every incoming op is the newest, the normal case on a server that clamps `ts` to its
 * clock, the outcome is the anchor's.
 *
 * Limits: ties between different changes resolve by arrival order (see `consolidateFieldOp`);
 * rule 5 keeps an object only when the removal arrives after the write that made it (the write
 * arriving second is rejected), so delivery orders may differ by such empty objects;
 * a delta and an overwrite of the same field, or a write under a primitive, commute only in
 * time order. A soft write converges where its path's existence cannot change under it
 * (initialising a map, a default next to plain writes): one skipped because the path existed is
 * not revived when an older remove or parent write arriving later empties the path. Array paths are treated as object keys (LWW has no array semantics). Each op
 * looks at its ancestors and descendants only (an index of the rows by ancestor), so a batch
 * costs about O(ops × depth); pass only the rows that meet the batch (`opsMeeting`), as both
 * sides do, and a document of any size costs no more.
 *
 * @param existing The stored ops (pending ops on the client, stored rows on the server).
 * @param newOps The incoming ops, in order.
 * @returns What to save, which existing paths to delete, and the corrections to send back.
 * @example
 * consolidateOps(
 *   [{ op: 'replace', path: '/a/b', value: 1, ts: 1 }],
 *   [{ op: 'replace', path: '/a', value: {}, ts: 2 }, { op: '@inc', path: '/n', value: 1, ts: 2 },
 *    { op: '@inc', path: '/n', value: 2, ts: 3 }],
 * );
 * // { opsToSave: [{ op: 'replace', path: '/a', value: {}, ts: 2 }, { op: '@inc', path: '/n', value: 3, ts: 3 }],
 * //   pathsToDelete: ['/a/b'], opsToReturn: [] }
 */
export function consolidateOps(existing: readonly JSONPatchOp[], newOps: readonly JSONPatchOp[]): ConsolidatedOps {
  return runToEnd(consolidateOpsSteps(existing, newOps));
}

/** About how many rows one step of {@link consolidateOpsSteps} stores, drops or folds in before it yields. */
const ROWS_PER_STEP = 1024;

/**
 * {@link consolidateOps} as steps, yielding between the rows it is given and between the ops it
 * folds in once it has stored, dropped or folded about `ROWS_PER_STEP` rows, so the server serves
 * other requests during a long commit (`src/server/docs/runSliced.ts`). One op's fold is one step:
 * a write over a subtree of 100,000 stored rows drops them at once (~35–60 ms; its steps within
 * made every fold cost ~10 µs instead of ~1). Nothing outside it is read or written meanwhile.
 */
export function* consolidateOpsSteps(existing: readonly JSONPatchOp[], newOps: readonly JSONPatchOp[]): Steps<ConsolidatedOps> {
  let work = 0;
  const rows = new Map<string, JSONPatchOp>();
  // Each ancestor path → the paths of the rows below it, in `rows`' order: a batch of thousands
  // of ops (a client back from a long offline session) finds an op's descendants without a scan.
  const below = new Map<string, Set<string>>();
  const put = (op: JSONPatchOp): void => {
    work++;
    if (!rows.has(op.path)) {
      for (const ancestor of ancestorPaths(op.path)) {
        const paths = below.get(ancestor);
        if (paths) paths.add(op.path);
        else below.set(ancestor, new Set([op.path]));
      }
    }
    rows.set(op.path, op);
  };
  const drop = (path: string): void => {
    work++;
    if (!rows.delete(path)) return;
    for (const ancestor of ancestorPaths(path)) below.get(ancestor)?.delete(path);
  };
  for (const op of existing) {
    put(op);
    if (work >= ROWS_PER_STEP) {
      work = 0;
      yield;
    }
  }
  const initialPaths = [...rows.keys()];
  // Paths written by this batch, in the order they must be applied (Map keeps insertion order).
  const saved = new Map<string, JSONPatchOp>();
  const corrected = new Set<string>();

  const save = (op: JSONPatchOp): void => {
    put(op);
    saved.delete(op.path);
    saved.set(op.path, op);
  };

  const supersedeDescendants = (written: JSONPatchOp): void => {
    if (isSoftOp(written) || isDeltaOp(written)) return;
    const survivors: JSONPatchOp[] = [];
    for (const path of [...(below.get(written.path) ?? [])]) {
      const row = rows.get(path)!;
      if (strictlyNewer(row, written)) {
        survivors.push(row);
      } else {
        drop(path);
        saved.delete(path);
      }
    }
    // Parents before children, whatever order the caller stored them in.
    survivors.sort((a, b) => pointerDepth(a.path) - pointerDepth(b.path));
    for (const row of survivors) save(row);
  };

  /**
   * Whether the object at `path` exists in the document the rows make: a row of a value there, a
   * row of a value below it (applied, it makes its missing parents), or the nearest row above it
   * holding it in its value.
   */
  const stands = (path: string): boolean => {
    const row = rows.get(path);
    if (row !== undefined && !isRemoved(row)) return true;
    for (const under of below.get(path) ?? []) if (!isRemoved(rows.get(under)!)) return true;
    if (row !== undefined) return false;
    for (const ancestorPath of ancestorPaths(path)) {
      const ancestor = rows.get(ancestorPath);
      if (ancestor !== undefined) return valueInside(ancestor, ancestorPath, path).found;
    }
    return false;
  };

  const fold = (op: JSONPatchOp): void => {
    let nearest: { row: JSONPatchOp; path: string } | undefined;
    let rejectedBy: JSONPatchOp | undefined;
    for (const ancestorPath of ancestorPaths(op.path)) {
      const row = rows.get(ancestorPath);
      if (row === undefined) continue;
      nearest ??= { row, path: ancestorPath };
      if (!isSoftOp(row) && strictlyNewer(row, op)) {
        rejectedBy = row;
        break;
      }
      if (isRemoved(row)) continue;
      if (isDeltaOp(row) || !isContainer(row.value)) {
        rejectedBy = row;
        break;
      }
    }
    if (rejectedBy !== undefined) {
      corrected.add(rejectedBy.path);
      return;
    }

    const current = rows.get(op.path);
    if (current !== undefined) {
      const result = consolidateFieldOp(current, op);
      if (result === null) {
        if (!isDeltaOp(op) && !isSoftOp(op)) corrected.add(op.path);
        return;
      }
      write(result);
      return;
    }

    if (isSoftOp(op)) {
      const taken =
        [...(below.get(op.path) ?? [])].some((path) => !isRemoved(rows.get(path)!)) ||
        (nearest !== undefined && valueInside(nearest.row, nearest.path, op.path).found);
      if (!taken) save(op);
      return;
    }

    if (isDeltaOp(op) && nearest !== undefined) {
      // The ancestor's write defines this field: combine with what it holds (or a fresh base).
      const inside = valueInside(nearest.row, nearest.path, op.path);
      const base: JSONPatchOp = inside.found ? { op: 'replace', path: op.path, value: inside.value } : { op: 'remove', path: op.path };
      const result = consolidateFieldOp(base, op);
      if (result !== null) save(result);
      return;
    }

    const result = consolidateFieldOp(undefined, op);
    if (result === null) return;
    write(result);
  };

  /**
   * Saves a plain write over the rows it supersedes. A write of a value at or below a path makes
   * the objects above it that are missing; a removal does not take them away (applied in order, a
   * field removed leaves its object, empty). So a removal that leaves its parent object with no
   * row to make it any more (it stood only as the missing parent a field's write had made) keeps
   * it standing (`keepStanding`): whoever applied the rows one by one still has that object, and a
   * reader that builds the doc from the rows left (a catch-up, a first load) must have it too.
   */
  const write = (op: JSONPatchOp): void => {
    const parent = isRemoved(op) ? ancestorPaths(op.path)[0] : undefined;
    const parentStood = parent !== undefined && parent !== '' && stands(parent);
    save(op);
    supersedeDescendants(op);
    if (parentStood && !stands(parent)) keepStanding(parent);
  };

  /**
   * Makes the rows keep an (empty) object at `path`, changing nothing else they say. With no row
   * there: a soft empty object stamped 0, older than any write, so it never overwrites, rejects
   * nothing, and loses to any removal or write of the path that comes later. Over a removal row:
   * an empty object stamped as that removal, so it stands against, and rejects, exactly what the
   * removal did (writes below it older than the removal) and is replaced by what would replace it.
   */
  const keepStanding = (path: string): void => {
    const removal = rows.get(path);
    const marker: JSONPatchOp = removal === undefined ? { op: 'replace', path, value: {}, soft: true, ts: 0 } : withTs({ op: 'replace', path, value: {} }, removal.ts);
    save(marker);
    supersedeDescendants(marker);
  };

  for (const op of newOps) {
    work++;
    fold(op);
    if (work >= ROWS_PER_STEP) {
      work = 0;
      yield;
    }
  }

  const opsToReturn: JSONPatchOp[] = [];
  for (const path of corrected) {
    const row = rows.get(path);
    if (row !== undefined) opsToReturn.push(row);
  }
  return {
    opsToSave: [...saved.values()],
    pathsToDelete: initialPaths.filter((path) => !rows.has(path)),
    opsToReturn,
  };
}

/**
 * Server side: turns the ops it is about to store into concrete values, so stored, broadcast
 * and catch-up ops are only `replace` and `remove` (protocol §4.8 "Server extras").
 *
 * Why: a stored row must say what the field IS, not how it changed: a client that missed the
 * earlier rows applies it and gets the same value. A delta left in `opsToSave` had nothing to
 * combine with, so it is applied to a fresh base (`@inc n` → `n`, `@min`/`@max v` → `v`, `@bit`
 * on 0). Every other op becomes a `replace` of its `value` (`move`, `copy`, `@txt` and `test`
 * have no LWW meaning). A soft write stays soft (`soft: true`), also when it was soft only
 * implicitly as an empty-container `add`, so a client applying it never wipes what it finds.
 *
 * Limits: the anchor computes `@min` on a missing number from 0 (giving 0 for a positive
 * operand); we follow the protocol text, which sets the operand. A delta with a bad operand is
 * returned unchanged (`consolidateOps` never saves one).
 *
 * @example
 * convertDeltaOps([{ op: '@inc', path: '/n', value: 2, ts: 5 }, { op: 'add', path: '/t', value: 'x' }]);
 * // [{ op: 'replace', path: '/n', value: 2, ts: 5 }, { op: 'replace', path: '/t', value: 'x' }]
 */
export function convertDeltaOps(ops: readonly JSONPatchOp[]): JSONPatchOp[] {
  return ops.map((op) => {
    if (op.op === 'remove') return op;
    if (isDeltaOp(op)) {
      const fresh = applyDelta(undefined, op);
      return fresh.ok ? { ...op, op: 'replace', value: fresh.value } : op;
    }
    if (op.op === 'replace' && (op.soft === true || !isSoftOp(op))) return op;
    const converted: JSONPatchOp = { ...op, op: 'replace' };
    if (isSoftOp(op)) converted.soft = true;
    return converted;
  });
}
