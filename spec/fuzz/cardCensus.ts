// What the fuzz's OT logs did to the cards of its board (spec/fuzz/edits.ts `cardEdit`), replayed
// op by op, for the card oracle in convergence.ts.
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import type { Change } from '../../src/types.js';
import { BOARD_LISTS, isCard, type CardEdit, type Json } from './edits.js';

/** Adds the JSON Pointer of every card (`isCard`) in `value` to `out`, by card id. */
export function cardsIn(value: Json | undefined, path: string, out: Map<string, string[]>): void {
  if (value === null || typeof value !== 'object') return;
  if (isCard(value)) out.set(value.id, [...(out.get(value.id) ?? []), path]);
  const entries: [string, Json][] = Array.isArray(value) ? value.map((item, i) => [String(i), item]) : Object.entries(value);
  for (const [key, item] of entries) cardsIn(item, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
}

/** The ids of the cards in `value`. */
export function cardIds(value: Json | undefined): string[] {
  const out = new Map<string, string[]>();
  cardsIn(value, '', out);
  return [...out.keys()];
}

/** The value at a JSON Pointer, or undefined. */
export function valueAt(doc: unknown, pointer: string): Json | undefined {
  if (pointer === '') return doc as Json;
  let at: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || !Object.prototype.hasOwnProperty.call(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at as Json;
}

/** What a card edit's change meant: which cards, made on which queue, when, on what rev. */
export interface CardIntent {
  kind: CardEdit['kind'];
  /** The cards it edits (or drags). */
  cards: string[];
  /** The lists it drags cards into (or adds one to). */
  into: string[];
  /** The pending queue it joined (a client's, or a database's shared by its tabs). */
  queue: string;
  /** Its place among the card edits of the run. */
  serial: number;
  /** The committed rev of the view it was made on. */
  base: number;
  docId: string;
  /** Its client and trace label. */
  label: string;
}

/**
 * What an OT log did to cards, replayed op by op: every card it ever held (`seen`), the cards in
 * a list (or the root) written whole while they were in it (`replacedWhole`), the cards a `copy`
 * copied, the cards an op wrote by value after the one that made them (`rewritten`), the cards a
 * change of two drags wrote by value (`byTwoDrags`) or took away (`takenByTwoDrags`), the changes
 * that moved or removed each card (`takers`), each card's moves in rev order (`movesOf`), the
 * changes that put a card into a list or took one out of it at an index (`insertsInto`: adds,
 * both ends of moves, removals), the cards the log ever put anywhere but a board list
 * (`offBoard`), and the writes of a whole
 * board list (`wholeWrites`).
 */
export function cardCensus(
  history: readonly Change[],
  intents: ReadonlyMap<string, CardIntent>,
): {
  seen: Set<string>;
  replacedWhole: Set<string>;
  copied: Set<string>;
  rewritten: Set<string>;
  byTwoDrags: Set<string>;
  takenByTwoDrags: Set<string>;
  takers: Map<string, Set<string>>;
  movesOf: Map<string, { rev: number; changeId: string }[]>;
  insertsInto: { changeId: string; list: string; rev: number }[];
  wholeWrites: { list: string; rev: number }[];
  offBoard: Set<string>;
} {
  const offBoard = new Set<string>();
  const onBoard = (path: string) => BOARD_LISTS.some(list => path.startsWith(`/${list}/`));
  const insertsInto: { changeId: string; list: string; rev: number }[] = [];
  const wholeWrites: { list: string; rev: number }[] = [];
  const byTwoDrags = new Set<string>();
  const takenByTwoDrags = new Set<string>();
  const seen = new Set<string>();
  const replacedWhole = new Set<string>();
  const copied = new Set<string>();
  const rewritten = new Set<string>();
  const takers = new Map<string, Set<string>>();
  const movesOf = new Map<string, { rev: number; changeId: string }[]>();
  let state: unknown = null;
  for (const change of history) {
    const twoDrags = intents.get(change.id)?.kind === 'dragTwo';
    const before = twoDrags ? cardIds(state as Json) : [];
    for (const op of change.ops) {
      // A board list, or the root, written whole: the cards in it went with it.
      if (['add', 'replace', 'remove'].includes(op.op) && (op.path === '' || BOARD_LISTS.some(list => op.path === `/${list}`))) {
        for (const id of cardIds(valueAt(state, op.path))) replacedWhole.add(id);
        for (const list of BOARD_LISTS) if (op.path === '' || op.path === `/${list}`) wholeWrites.push({ list, rev: change.rev });
      }
      // A card put into a list or taken out of one at an index: added, moved (both ends), removed.
      const element = /^\/([^/]+)\/(\d+|-)$/;
      const moving = (op.op === 'move' || op.op === 'remove') && cardIds(valueAt(state, op.op === 'move' ? op.from! : op.path)).length > 0;
      for (const path of [op.op === 'add' && isCard(op.value as Json) ? op.path : undefined, op.op === 'move' && moving ? op.path : undefined, moving ? (op.from ?? op.path) : undefined]) {
        const at = path === undefined ? null : element.exec(path);
        if (at) insertsInto.push({ changeId: change.id, list: at[1], rev: change.rev });
      }
      if (op.op === 'copy' && op.from !== undefined) for (const id of cardIds(valueAt(state, op.from))) copied.add(id);
      // Cards put anywhere but a board list (`list`, `obj`, `nested`: a drag or a stray into `list`, and what the other edits do there).
      if ((op.op === 'move' || op.op === 'copy') && !onBoard(op.path)) for (const id of cardIds(valueAt(state, op.from!))) offBoard.add(id);
      if ((op.op === 'add' || op.op === 'replace') && !onBoard(op.path)) for (const id of cardIds(op.value as Json)) offBoard.add(id);
      if (op.op === 'move' || op.op === 'remove' || op.op === 'replace') {
        for (const id of cardIds(valueAt(state, op.op === 'move' ? op.from! : op.path))) {
          takers.set(id, (takers.get(id) ?? new Set()).add(change.id));
          if (op.op === 'move') movesOf.set(id, [...(movesOf.get(id) ?? []), { rev: change.rev, changeId: change.id }]);
        }
      }
      if ((op.op === 'add' || op.op === 'replace') && op.value !== undefined) {
        for (const id of cardIds(op.value as Json)) {
          if (twoDrags) byTwoDrags.add(id);
          if (seen.has(id)) rewritten.add(id);
          seen.add(id);
        }
      }
      state = applyPatch(state, [op], { mode: 'strict' });
    }
    if (twoDrags) {
      const after = new Set(cardIds(state as Json));
      for (const id of before) if (!after.has(id)) takenByTwoDrags.add(id);
    }
  }
  return { seen, replacedWhole, copied, rewritten, byTwoDrags, takenByTwoDrags, takers, movesOf, insertsInto, wholeWrites, offBoard };
}

/** Where card `id` was after each change of the log that moved, wrote or took it, with that change's ops (for a failure's report). */
export function cardTrail(history: readonly Change[], id: string): string[] {
  const lines: string[] = [];
  let state: unknown = null;
  let where = '';
  for (const change of history) {
    state = applyPatch(state, change.ops, { mode: 'strict' });
    const found = new Map<string, string[]>();
    cardsIn(state as Json, '', found);
    const now = (found.get(id) ?? []).join(', ') || 'nowhere';
    if (now !== where && (where !== '' || now !== 'nowhere')) lines.push(`rev ${change.rev} (${change.id}, base ${change.baseRev}): ${JSON.stringify(change.ops)} → ${id} at ${now}`);
    where = now;
  }
  return lines;
}
