import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import type { TransformIncoming } from '../../src/server/docs/OTDocService.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

/** An `add` into an array at a concrete index: `{ array: '/list', index: 3 }`. */
interface Insert {
  array: string;
  index: number;
}

function insertOf(op: JSONPatchOp): Insert | undefined {
  if (op.op !== 'add') return undefined;
  const cut = op.path.lastIndexOf('/');
  const last = op.path.slice(cut + 1);
  return /^(0|[1-9]\d*)$/.test(last) ? { array: op.path.slice(0, cut), index: Number(last) } : undefined;
}

function at(op: JSONPatchOp, index: number): JSONPatchOp {
  return { ...op, path: `${op.path.slice(0, op.path.lastIndexOf('/'))}/${index}` };
}

/** Whether the default server transform puts the incoming insert first when two meet at one index. */
function defaultPutsIncomingFirst(): boolean {
  const committed: Change = { id: 'c', baseRev: 0, rev: 1, ops: [{ op: 'add', path: '/l/0', value: 'c' }], createdAt: 0, committedAt: 0 };
  const incoming: Change = { id: 'i', baseRev: 0, rev: 1, ops: [{ op: 'add', path: '/l/0', value: 'i' }], createdAt: 0, committedAt: 0 };
  return transformIncomingChanges([committed], [incoming], () => false)[0].ops[0].path === '/l/0';
}

/** A server transform with the other tie-break, plus how often the tie-break decided something. */
export interface OppositeTieBreak {
  transform: TransformIncoming;
  /** Inserts at one index of one array, committed vs incoming, that this rule ordered the other way. */
  readonly ties: number;
}

/**
 * A deliberately different server transform for specs: for batches made only of array inserts
 * (`add …/<index>`) it is the OT diamond with the opposite tie-break to the default's for two
 * inserts at the same index of the same array; anything else goes to the default transform.
 * TP1 holds for it (both orders give the same array), so it is a legitimate server, just not
 * the one the client's rebase agrees with.
 */
export function oppositeTieBreak(): OppositeTieBreak {
  const incomingFirst = !defaultPutsIncomingFirst();
  let ties = 0;

  /** `incoming` moved past `committed` and `committed` past `incoming` (the diamond's two halves). */
  const pair = (committed: JSONPatchOp, incoming: JSONPatchOp): [JSONPatchOp, JSONPatchOp] => {
    const c = insertOf(committed) as Insert;
    const i = insertOf(incoming) as Insert;
    if (c.array !== i.array) return [committed, incoming];
    if (c.index === i.index) ties++;
    const incomingStays = i.index < c.index || (i.index === c.index && incomingFirst);
    return incomingStays ? [at(committed, c.index + 1), incoming] : [committed, at(incoming, i.index + 1)];
  };

  /** Every committed op walked through the incoming ops in order. */
  const both = (committed: JSONPatchOp[], incoming: JSONPatchOp[]): [JSONPatchOp[], JSONPatchOp[]] => {
    const passed: JSONPatchOp[] = [];
    let local = incoming;
    for (let op of committed) {
      const next: JSONPatchOp[] = [];
      for (const mine of local) {
        const [movedOp, movedMine] = pair(op, mine);
        op = movedOp;
        next.push(movedMine);
      }
      local = next;
      passed.push(op);
    }
    return [passed, local];
  };

  const transform: TransformIncoming = (committedSince, incoming, isOwn) => {
    const onlyInserts = [...committedSince, ...incoming].every(change => change.ops.every(op => insertOf(op) !== undefined));
    if (!onlyInserts) return transformIncomingChanges(committedSince, incoming, isOwn);
    const entries = incoming.map(change => ({ change, ops: change.ops }));
    for (const server of committedSince) {
      if (isOwn(server)) {
        const own = entries.findIndex(entry => entry.change.id === server.id);
        if (own >= 0) entries.splice(own, 1);
        continue;
      }
      let foreign = server.ops;
      for (const entry of entries) [foreign, entry.ops] = both(foreign, entry.ops);
    }
    return entries.filter(entry => entry.ops.length > 0).map(entry => (entry.ops === entry.change.ops ? entry.change : { ...entry.change, ops: entry.ops }));
  };

  return {
    transform,
    get ties() {
      return ties;
    },
  };
}
