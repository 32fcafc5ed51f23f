/**
 * OT test kit: a random edit generator that only writes ops valid on the document it is given,
 * and an in-process server loop (server + N clients + message queues) driven by a random
 * schedule, for the convergence properties of spec/algorithms.
 *
 * Documents follow a small schema so concurrent edits never confuse types (which would make
 * strict apply fail for reasons no transform can fix): the first letter of a key says what it
 * holds — n: counter (@inc), m: @max number, b: @bit mask, t: rich text (@txt), s: string,
 * o: object, l: array of objects, c: array of counters. Moves and copies keep the letter.
 */
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { applyCommittedChanges } from '../../src/algorithms/applyCommittedChanges.js';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import { MissingChangesError } from '../../src/errors.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

/** A source of choices: `int(n)` is an integer in [0, n). */
export interface Rand {
  int(n: number): number;
}

/** A seeded PRNG (mulberry32): same seed, same run. */
export function seededRand(seed: number): Rand {
  let a = seed >>> 0;
  return {
    int(n: number): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      return Math.floor(r * n);
    },
  };
}

/** Which op families the generator may use. */
export interface OpFamilies {
  /** move and copy between same-type slots. */
  moves: boolean;
  /** `/arr/-` appends. */
  append: boolean;
  /** explicit `soft: true` writes. */
  soft: boolean;
  /** `test` ops. */
  test: boolean;
}

/** Everything. */
export const ALL_FAMILIES: OpFamilies = { moves: true, append: true, soft: true, test: true };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const OBJECT_KEYS = ['n0', 'n1', 'm0', 'b0', 't0', 's0', 's1', 'o0', 'o1', 'l0', 'l1', 'c0'];
const NESTED_KEYS = ['n0', 'm0', 't0', 's0', 's1', 'o0', 'l0', 'c0'];
const LEAF_KEYS = ['n0', 's0', 't0'];

function keysFor(depth: number): string[] {
  return depth === 0 ? OBJECT_KEYS : depth === 1 ? NESTED_KEYS : LEAF_KEYS;
}

const pick = <T>(rand: Rand, items: readonly T[]): T => items[rand.int(items.length)];

function textDoc(rand: Rand): Json {
  return { ops: [{ insert: `${pick(rand, ['ab', 'xyz', 'q'])}\n` }] };
}

/** A fresh value of the type a key's first letter names. */
function valueFor(key: string, rand: Rand, depth: number): Json {
  switch (key[0]) {
    case 'n':
    case 'm':
      return rand.int(10);
    case 'b':
      return rand.int(1 << 15);
    case 't':
      return textDoc(rand);
    case 's':
      return pick(rand, ['a', 'b', 'c', 'd']);
    case 'o':
      return depth >= 2 ? {} : randomObject(rand, depth + 1, rand.int(3));
    case 'l':
      return Array.from({ length: rand.int(3) }, () => randomItem(rand));
    default:
      return Array.from({ length: rand.int(3) }, () => rand.int(10));
  }
}

/** What a soft write (initialisation) puts at a key. */
function softDefault(key: string): Json {
  return key[0] === 's' ? 'd' : 0;
}

function randomItem(rand: Rand): Json {
  return { n0: rand.int(5), s0: pick(rand, ['p', 'q', 'r']) };
}

function randomObject(rand: Rand, depth: number, size: number): Obj {
  const out: Obj = {};
  for (let i = 0; i < size; i++) {
    const key = pick(rand, keysFor(depth));
    out[key] = valueFor(key, rand, depth);
  }
  return out;
}

/** A random document (an object at the root). */
export function randomDoc(rand: Rand): Obj {
  return randomObject(rand, 0, 3 + rand.int(6));
}

/** A node of the document the generator can write into. */
interface Node {
  path: string;
  value: Json;
  /** The key letter of the slot holding it ('' for the root), which fixes its type. */
  letter: string;
  depth: number;
}

function nodes(doc: Json): Node[] {
  const out: Node[] = [];
  const walk = (value: Json, path: string, letter: string, depth: number): void => {
    out.push({ path, value, letter, depth });
    if (Array.isArray(value)) {
      if (letter === 'l') value.forEach((item, i) => walk(item, `${path}/${i}`, 'i', depth + 1));
    } else if (value !== null && typeof value === 'object' && letter !== 't') {
      for (const [key, child] of Object.entries(value)) walk(child, `${path}/${key}`, key[0], depth + 1);
    }
  };
  walk(doc, '', '', 0);
  return out;
}

const isObj = (v: Json): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function textLength(value: Json): number {
  if (!isObj(value) || !Array.isArray(value.ops)) return 1;
  let length = 0;
  for (const op of value.ops) length += isObj(op) && typeof op.insert === 'string' ? op.insert.length : 1;
  return length;
}

/** A delta valid on a text of `length` characters (never touching the final newline). */
function randomDelta(rand: Rand, length: number): Json[] {
  const retain = rand.int(length);
  const delta: Json[] = retain > 0 ? [{ retain }] : [];
  const room = length - 1 - retain;
  if (room > 0 && rand.int(2) === 0) delta.push({ delete: 1 + rand.int(room) });
  else delta.push({ insert: pick(rand, ['X', 'yy', 'Z']) });
  return delta;
}

/** Slots (existing or not) a value of `letter` may be moved or copied to. */
function keySlots(all: Node[], letter: string, exclude: string): string[] {
  const slots: string[] = [];
  for (const node of all) {
    if (!isObj(node.value) || node.letter === 't' || node.letter === 'i') continue;
    if (node.path === exclude || node.path.startsWith(`${exclude}/`)) continue;
    for (const key of keysFor(node.depth)) if (key[0] === letter) slots.push(`${node.path}/${key}`);
  }
  return slots;
}

/** One random op valid on `doc`, or undefined when the dice found nothing to do. */
function randomOp(doc: Json, rand: Rand, families: OpFamilies): JSONPatchOp | undefined {
  const all = nodes(doc);
  const node = pick(rand, all);
  const { path, value } = node;
  if (Array.isArray(value) && (path === '' || rand.int(3) > 0)) return arrayOp(all, node, value, rand, families);
  if (isObj(value) && node.letter !== 't' && (path === '' || rand.int(2) === 0)) {
    const missing = keysFor(Math.min(node.depth, 2)).filter((key) => !(key in value));
    if (missing.length === 0) return undefined;
    const key = pick(rand, missing);
    const at = `${path}/${key}`;
    const empty = (key[0] === 'o' ? {} : key[0] === 'l' || key[0] === 'c' ? [] : undefined) as Json | undefined;
    if (empty !== undefined && rand.int(3) === 0) return { op: 'add', path: at, value: empty };
    const fresh = valueFor(key, rand, node.depth);
    // Explicit soft writes carry primitive defaults (a soft container with content, raced by
    // another, would leave ops under it addressing a value that lost: a documented limit).
    // They write the key's default, as initialisation code does (two soft writes of different
    // values at one path end differently in the two frames: another documented limit).
    if (families.soft && typeof fresh !== 'object' && rand.int(4) === 0) return { op: 'add', path: at, value: softDefault(key), soft: true };
    return { op: pick(rand, ['add', 'replace']), path: at, value: fresh };
  }
  if (path === '') return undefined;
  return valueOp(all, node, rand, families);
}

function valueOp(all: Node[], node: Node, rand: Rand, families: OpFamilies): JSONPatchOp | undefined {
  const { path, value, letter } = node;
  const inArray = letter === 'i' || /\/\d+$/.test(path);
  const roll = rand.int(10);
  if (roll === 0) return { op: 'remove', path };
  if (roll === 1 && families.test) return { op: 'test', path, value };
  if (roll === 2 && families.moves && !inArray) {
    const slots = keySlots(all, letter, path).filter((slot) => slot !== path);
    if (slots.length > 0) return { op: pick(rand, ['move', 'copy']), from: path, path: pick(rand, slots) };
  }
  if (roll === 3 && families.soft && typeof value !== 'object') return { op: 'replace', path, value: softDefault(letter), soft: true };
  switch (letter) {
    case 'n':
    case 'c':
      return rand.int(3) === 0 ? { op: 'replace', path, value: rand.int(10) } : { op: '@inc', path, value: 1 + rand.int(3) };
    case 'm':
      return rand.int(3) === 0 ? { op: 'replace', path, value: rand.int(10) } : { op: '@max', path, value: rand.int(12) };
    case 'b':
      return { op: '@bit', path, value: rand.int(1 << 30) };
    case 't':
      return rand.int(5) === 0 ? { op: 'replace', path, value: textDoc(rand) } : { op: '@txt', path, value: randomDelta(rand, textLength(value)) };
    case 'i':
      return { op: 'replace', path, value: randomItem(rand) };
    default:
      return { op: 'replace', path, value: valueFor(letter, rand, node.depth) };
  }
}

function arrayOp(all: Node[], node: Node, value: Json[], rand: Rand, families: OpFamilies): JSONPatchOp | undefined {
  const { path, letter } = node;
  const element = (): Json => (letter === 'l' ? randomItem(rand) : rand.int(10));
  const roll = rand.int(8);
  if (value.length === 0 || roll < 2) {
    if (families.append && rand.int(3) === 0) return { op: 'add', path: `${path}/-`, value: element() };
    // No explicit soft inserts: whether one applies depends on the array's content, which a
    // transform cannot see (a documented limit).
    return { op: 'add', path: `${path}/${rand.int(value.length + 1)}`, value: element() };
  }
  const i = rand.int(value.length);
  if (roll === 2 && families.moves) {
    const arrays = all.filter((n) => Array.isArray(n.value) && n.letter === letter && !n.path.startsWith(`${path}/${i}/`));
    const target = pick(rand, arrays);
    const size = (target.value as Json[]).length + (target.path === path ? 0 : 1);
    const op = rand.int(3) === 0 ? 'copy' : 'move';
    const length = op === 'copy' && target.path === path ? size + 1 : size;
    return { op, from: `${path}/${i}`, path: `${target.path}/${rand.int(length)}` };
  }
  if (roll === 3) return { op: 'remove', path: `${path}/${i}` };
  const elementNode = all.find((n) => n.path === `${path}/${i}`);
  if (letter === 'l' && elementNode && rand.int(2) === 0) return itemOp(elementNode, rand);
  if (letter === 'c' && rand.int(2) === 0) return { op: '@inc', path: `${path}/${i}`, value: 1 + rand.int(3) };
  return { op: 'replace', path: `${path}/${i}`, value: element() };
}

function itemOp(node: Node, rand: Rand): JSONPatchOp {
  const key = pick(rand, ['n0', 's0']);
  const at = `${node.path}/${key}`;
  return key === 'n0' ? { op: '@inc', path: at, value: 1 } : { op: 'replace', path: at, value: pick(rand, ['u', 'v']) };
}

/**
 * `count` ops, each valid on the document the ones before it produced (checked with strict
 * apply; a generated op that would not apply is discarded). After an append to an array the
 * list leaves that array's elements alone.
 */
export function randomOps(doc: Json, rand: Rand, count: number, families: OpFamilies = ALL_FAMILIES): JSONPatchOp[] {
  const ops: JSONPatchOp[] = [];
  // Arrays appended to with `-`: the appended element's index is unknown to a transform, so the
  // same list never addresses their elements by index afterwards (a documented limit).
  const appended: string[] = [];
  const touchesAppended = (p: string | undefined): boolean =>
    p !== undefined && appended.some((a) => p.startsWith(`${a}/`) && p !== `${a}/-`);
  let state = doc;
  for (let tries = 0; ops.length < count && tries < count * 4; tries++) {
    const op = randomOp(state, rand, families);
    if (!op || touchesAppended(op.path) || touchesAppended(op.from)) continue;
    if (op.path.endsWith('/-')) appended.push(op.path.slice(0, -2));
    try {
      state = applyPatch(state, [op], { mode: 'strict' });
      ops.push(op);
    } catch {
      // the dice produced something invalid (e.g. an index past the end): try again
    }
  }
  return ops;
}
