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
  /** creating, replacing, removing or moving a whole text (else texts only change through @txt). */
  textResets: boolean;
}

/** Everything. */
export const ALL_FAMILIES: OpFamilies = { moves: true, append: true, soft: true, test: true, textResets: true };

/**
 * The simulation's default: everything but `-` appends, since a client's later change may
 * address an element it appended by index, which no transform can keep right.
 */
export const SIMULATION_FAMILIES: OpFamilies = { moves: true, append: false, soft: true, test: true, textResets: true };

/** JSON with object keys sorted, for comparing states whatever their key order. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

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
    const missing = keysFor(Math.min(node.depth, 2)).filter((key) => !(key in value) && (families.textResets || key[0] !== 't'));
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
  // A text that is replaced or removed under a concurrent @txt leaves that delta addressing
  // another text; Quill's transform and the "\n"-terminated documents then disagree at the edges.
  if (letter === 't' && !families.textResets && (roll === 0 || roll === 2)) return undefined;
  if (roll === 0) return { op: 'remove', path };
  if (roll === 1 && families.test) return { op: 'test', path, value };
  if (roll === 2 && families.moves && !inArray) {
    const slots = keySlots(all, letter, path).filter((slot) => slot !== path);
    if (slots.length > 0) return { op: pick(rand, ['move', 'copy']), from: path, path: pick(rand, slots) };
  }
  if (roll === 3 && families.soft && typeof value !== 'object') return { op: 'replace', path, value: softDefault(letter), soft: true };
  switch (letter) {
    case 'n':
      return rand.int(3) === 0 ? { op: 'replace', path, value: rand.int(10) } : { op: '@inc', path, value: 1 + rand.int(3) };
    case 'm':
      return rand.int(3) === 0 ? { op: 'replace', path, value: rand.int(10) } : { op: '@max', path, value: rand.int(12) };
    case 'b':
      return { op: '@bit', path, value: rand.int(1 << 30) };
    case 't':
      if (families.textResets && rand.int(5) === 0) return { op: 'replace', path, value: textDoc(rand) };
      return { op: '@txt', path, value: randomDelta(rand, textLength(value)) };
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

/** A message on its way to a client: committed changes (a broadcast, or a commit response). */
interface Delivery {
  changes: Change[];
  /** Set on a commit response: the ids the client sent. */
  sent?: string[];
}

/** A simulated client: committed state, pending queue, inbox, one batch in flight at most. */
export interface SimClient {
  readonly id: string;
  state: unknown;
  rev: number;
  pending: Change[];
  inflight: string[] | undefined;
  readonly inbox: Delivery[];
  /** Every id this client minted. */
  readonly minted: string[];
  /** Ids that were rebased away (empty), or dropped by the server as no longer applicable, before any commit. */
  readonly vanished: Set<string>;
}

/** What the simulation checks as it runs; a broken invariant throws with this message. */
export class SimulationError extends Error {}

/**
 * An OT server and N clients in one process, driven by a random schedule: clients edit (ops
 * valid on what they show), send their pending queue as one batch (one in flight at a time),
 * and take deliveries in FIFO order; the server commits batches in arrival order with
 * transformIncomingChanges and broadcasts to the others. Every op of every view, of every
 * commit and of every rebased queue is applied with strict applyPatch along the way.
 */
export class OTSimulation {
  readonly clients: SimClient[];
  state: unknown;
  readonly log: Change[] = [];
  private readonly requests: { client: SimClient; batch: Change[] }[] = [];
  private serial = 0;

  constructor(
    private readonly rand: Rand,
    clientCount: number,
    initial: unknown,
    private readonly families: OpFamilies = SIMULATION_FAMILIES,
  ) {
    this.state = initial;
    this.clients = Array.from({ length: clientCount }, (_, i) => ({
      id: `c${i}`,
      state: initial,
      rev: 0,
      pending: [],
      inflight: undefined,
      inbox: [],
      minted: [],
      vanished: new Set<string>(),
    }));
  }

  /**
   * What a client shows: committed state plus its pending changes, as PatchesDoc computes it
   * (strict, else lenient: under the reference's rules a rebased change may no longer apply,
   * e.g. a `test` a concurrent write falsified; the server then drops it).
   */
  view(client: SimClient): unknown {
    let state = client.state;
    for (const change of client.pending) {
      try {
        state = applyPatch(state, change.ops, { mode: 'strict' });
      } catch {
        state = applyPatch(state, change.ops, { mode: 'lenient' });
      }
    }
    return state;
  }

  /** One random step; false when the dice picked something that had nothing to do. */
  step(): boolean {
    const client = pick(this.rand, this.clients);
    switch (this.rand.int(5)) {
      case 0:
        return this.edit(client);
      case 1:
        return this.send(client);
      case 2:
        return this.serve();
      default:
        return this.receive(client);
    }
  }

  /** A client makes a change of 1–3 ops on what it shows. */
  edit(client: SimClient): boolean {
    const ops = randomOps(this.view(client) as Json, this.rand, 1 + this.rand.int(3), this.families);
    if (ops.length === 0) return false;
    const last = client.pending[client.pending.length - 1];
    const id = `${client.id}-${++this.serial}`;
    client.minted.push(id);
    client.pending.push({ id, ops, baseRev: client.rev, rev: (last?.rev ?? client.rev) + 1, createdAt: this.serial, committedAt: 0 });
    return true;
  }

  /** A client sends its whole pending queue as one batch (unless one is in flight). */
  send(client: SimClient): boolean {
    if (client.inflight || client.pending.length === 0) return false;
    const batch = client.pending.map((change) => ({ ...change }));
    client.inflight = batch.map((change) => change.id);
    this.requests.push({ client, batch });
    return true;
  }

  /** The server commits the oldest request. */
  serve(): boolean {
    const request = this.requests.shift();
    if (!request) return false;
    const { client, batch } = request;
    const baseRev = batch[0].baseRev;
    const ids = new Set(batch.map((change) => change.id));
    const isOwn = (committed: Change): boolean => committed.clientId === client.id && ids.has(committed.id);
    const since = this.log.filter((change) => change.rev > baseRev);
    const catchup = since.filter((change) => !isOwn(change));
    const fresh: Change[] = [];
    for (const change of transformIncomingChanges(since, batch, isOwn)) {
      const committed: Change = { ...change, rev: this.log.length + 1, committedAt: this.log.length + 1, clientId: client.id };
      try {
        this.state = applyPatch(this.state, committed.ops, { mode: 'strict' });
      } catch {
        // As OTDocService (and the reference server): a change whose ops no longer apply is
        // dropped, not committed; the reply leaves it out and its author resolves it. Under the
        // reference's rules this happens (a `test` a concurrent write falsified, a move whose
        // source went, a change written on top of one that was dropped).
        continue;
      }
      this.log.push(committed);
      fresh.push(committed);
    }
    client.inbox.push({ changes: [...catchup, ...fresh], sent: batch.map((change) => change.id) });
    if (fresh.length > 0) for (const other of this.clients) if (other !== client) other.inbox.push({ changes: fresh });
    return true;
  }

  /** A client takes its next delivery. */
  receive(client: SimClient): boolean {
    const delivery = client.inbox.shift();
    if (!delivery) return false;
    if (delivery.sent) this.checkLockstep(client, delivery);
    // As OTAlgorithm: a sent change missing from the commit response was transformed away (or
    // dropped) by the server, so it is resolved here too.
    const replied = new Set(delivery.changes.map((change) => change.id));
    const resolved = new Set((delivery.sent ?? []).filter((id) => !replied.has(id)));
    const pending = client.pending.filter((change) => !resolved.has(change.id));
    let changes = delivery.changes;
    let result;
    try {
      result = applyCommittedChanges({ state: client.state, rev: client.rev }, changes, pending);
    } catch (error) {
      if (!(error instanceof MissingChangesError)) throw error;
      // A gap: fetch what is missing, as getChangesSince would.
      changes = this.log.filter((change) => change.rev > client.rev);
      result = applyCommittedChanges({ state: client.state, rev: client.rev }, changes, pending);
    }
    const kept = new Set(result.pending.map((change) => change.id));
    const committed = new Set(this.log.map((change) => change.id));
    for (const change of client.pending) if (!kept.has(change.id) && !committed.has(change.id)) client.vanished.add(change.id);
    client.state = result.state;
    client.rev = result.rev;
    client.pending = result.pending;
    if (delivery.sent) client.inflight = undefined;
    return true;
  }

  /**
   * On a commit response the client's rebased copies of what it sent must equal what the server
   * committed: both walked the same committed tail.
   */
  private checkLockstep(client: SimClient, delivery: Delivery): void {
    for (const change of delivery.changes) {
      if (!delivery.sent!.includes(change.id)) continue;
      const local = client.pending.find((pending) => pending.id === change.id);
      if (!local) continue; // already confirmed by an earlier delivery
      if (JSON.stringify(local.ops) !== JSON.stringify(change.ops)) {
        throw new SimulationError(`${client.id}: rebased ${change.id} ${JSON.stringify(local.ops)} but the server committed ${JSON.stringify(change.ops)}`);
      }
    }
  }

  /** Runs until nothing is pending, in flight or undelivered. */
  quiesce(): void {
    for (let round = 0; round < 1000; round++) {
      let busy = false;
      for (const client of this.clients) busy = this.send(client) || busy;
      while (this.serve()) busy = true;
      for (const client of this.clients) while (this.receive(client)) busy = true;
      if (!busy && this.clients.every((client) => client.pending.length === 0 && !client.inflight)) return;
    }
    throw new SimulationError('did not quiesce');
  }
}
