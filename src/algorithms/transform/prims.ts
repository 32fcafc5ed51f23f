/**
 * The transform works on primitives, not on JSON Patch ops. Each primitive touches exactly one
 * location, which keeps the pair rules small:
 *
 * - `move F → P` becomes `detach F` (the value goes to a private stash) plus `attach stash → P`;
 * - `copy F → P` becomes `clone F` (a copy goes to the stash) plus `attach stash → P`.
 *
 * Ops of the other side that address the moved value follow it into the stash and out to `P`,
 * which is how concurrent edits survive a move, and how same-array moves shift only the indexes
 * between their two ends. Stash paths start with `~`, so they never collide with a real pointer
 * (every real pointer is `''` or starts with `/`). After the transform the halves are joined back
 * into `move`/`copy`; a half that lost its partner becomes what is left of its effect.
 */
import type { JSONPatchOp } from '../../types.js';
import { isAppendPath, isIndexPath, isStrictAncestor } from './paths.js';

/** What a primitive does at its location. */
export type PrimKind =
  | 'remove' // delete a key or splice out an element
  | 'set' // write a whole value at a key (or overwrite an array element: `replace`)
  | 'insert' // splice a new element in at an array index
  | 'append' // push onto an array (`/arr/-`)
  | 'inplace' // @inc, @bit, @max, @min, @txt: update the value where it is
  | 'test' // read-only assertion
  | 'opaque' // an op we do not know: never affects others, path-shifted like the rest
  | 'detach' // first half of move: take the value at `path` into `stash`
  | 'clone'; // first half of copy: copy the value at `path` into `stash`

/** One primitive. Immutable: a changed primitive is a new object with `pristine: false`. */
export interface Prim {
  readonly kind: PrimKind;
  /** The one location it touches (for detach/clone: the source). */
  readonly path: string;
  /** Op name to emit: add, replace, remove, test or an @-op (halves emit move/copy). */
  readonly name: string;
  /** Literal operand, when the op has one. */
  readonly value?: unknown;
  readonly hasValue: boolean;
  /** A soft write (explicit `soft: true`, or an `add` of an empty container at a key). */
  readonly soft: boolean;
  /** Set for an `add` of `{}` or `[]` at a key: such adds merge with each other. */
  readonly emptyKind?: 'object' | 'array';
  /** detach/clone: the stash they fill. set/insert/append: the stash they empty (an attach). */
  readonly stash?: string;
  /**
   * Attach only: in-place ops of the other side to re-apply after it. A later `@inc` of a path
   * the other side moved a value into must end up on the moved value in both frames, but the
   * moved value is unknown to the transform, so the increment is carried along instead.
   */
  readonly redo?: readonly Prim[];
  /**
   * A copy of an op made so that a concurrent copy gets the same edit as its source. It stands
   * for that edit on the copy only: an overwrite of its path kills it, whatever the order, and
   * it never wins against one.
   */
  readonly derived?: true;
  /** The op it came from; undefined for primitives the transform made up. */
  readonly src?: JSONPatchOp;
  /** Still exactly as decomposed (lets an untouched op be returned as the same object). */
  readonly pristine: boolean;
}

/** Hands out stash names, unique within one transform call. */
export interface StashCounter {
  next: number;
}

const IN_PLACE = new Set(['@inc', '@bit', '@max', '@min', '@txt']);

/** True for the second half of a move/copy. */
export function isAttach(p: Prim): boolean {
  return p.stash !== undefined && (p.kind === 'set' || p.kind === 'insert' || p.kind === 'append');
}

/** True for a path inside a stash rather than the document. */
export function isStashPath(path: string): boolean {
  return path.charCodeAt(0) === 126; // '~'
}

function emptyKindOf(value: unknown): 'object' | 'array' | undefined {
  if (Array.isArray(value)) return value.length === 0 ? 'array' : undefined;
  if (value !== null && typeof value === 'object' && Object.keys(value).length === 0) return 'object';
  return undefined;
}

function writeKind(path: string): PrimKind {
  return isIndexPath(path) ? 'insert' : isAppendPath(path) ? 'append' : 'set';
}

function prim(src: JSONPatchOp, kind: PrimKind, path: string, extra: Partial<Prim> = {}): Prim {
  const hasValue = 'value' in src && kind !== 'remove';
  return { kind, path, name: src.op, value: hasValue ? src.value : undefined, hasValue, soft: false, src, pristine: true, ...extra };
}

/**
 * Splits ops into primitives (see the file comment). A move onto itself is dropped, and so is a
 * copy onto itself at a key (a copy onto its own array index inserts a duplicate: kept).
 */
export function decompose(ops: readonly JSONPatchOp[], counter: StashCounter): Prim[] {
  const out: Prim[] = [];
  for (const op of ops) {
    const { path } = op;
    switch (op.op) {
      case 'add': {
        const kind = writeKind(path);
        const emptyKind = kind === 'set' ? emptyKindOf(op.value) : undefined;
        out.push(prim(op, kind, path, { soft: op.soft === true || emptyKind !== undefined, emptyKind }));
        break;
      }
      case 'replace':
        out.push(prim(op, 'set', path, { soft: op.soft === true }));
        break;
      case 'remove':
        out.push(prim(op, 'remove', path));
        break;
      case 'test':
        out.push(prim(op, 'test', path));
        break;
      case 'move':
      case 'copy': {
        const from = op.from;
        if (typeof from !== 'string' || (op.op === 'move' && isStrictAncestor(from, path))) {
          out.push(prim(op, 'opaque', path));
          break;
        }
        if (from === path && (op.op === 'move' || !isIndexPath(path))) break; // a no-op
        const stash = `~${counter.next++}`;
        const half = op.op === 'move' ? 'detach' : 'clone';
        out.push({ kind: half, path: from, name: op.op, hasValue: false, soft: false, stash, src: op, pristine: true });
        const soft = op.op === 'copy' && op.soft === true;
        out.push({ kind: writeKind(path), path, name: op.op, hasValue: false, soft, stash, src: op, pristine: true });
        break;
      }
      default:
        out.push(prim(op, IN_PLACE.has(op.op) ? 'inplace' : 'opaque', path));
    }
  }
  return out;
}

/** A copy of `p` at another location. */
export function moved(p: Prim, path: string): Prim {
  return { ...p, path, pristine: false };
}

/** A copy of `p` with another kind, op name or value. */
export function changed(p: Prim, patch: Partial<Prim>): Prim {
  return { ...p, ...patch, pristine: false };
}

/** A made-up primitive (a re-created element, a residual removal, ...). */
export function synth(kind: PrimKind, name: string, path: string, value?: unknown): Prim {
  return { kind, name, path, value, hasValue: value !== undefined || kind === 'insert' || kind === 'set', soft: false, pristine: false };
}

/** `remove path`. */
export function removal(path: string): Prim {
  return synth('remove', 'remove', path);
}

/** What is left of `y` when it is dropped: an attach still empties its stash, so a partner half knows. */
export function dropped(y: Prim): Prim[] {
  return isAttach(y) ? [removal(y.stash as string)] : [];
}
