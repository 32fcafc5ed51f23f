import fc from 'fast-check';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { rebaseChanges } from '../../src/algorithms/rebaseChanges.js';
import type { Change, JSONPatchOp } from '../../src/types.js';
import { OTSimulation, randomDoc, randomOps, seededRand, sortKeys, SIMULATION_FAMILIES, type OpFamilies, type Rand } from '../helpers/otSimulation.js';

function change(id: string, rev: number, ops: JSONPatchOp[], extra: Partial<Change> = {}): Change {
  return { id, rev, baseRev: 3, ops, createdAt: 1, committedAt: 0, ...extra };
}
const committed = (id: string, rev: number, ops: JSONPatchOp[], clientId = 'other'): Change => change(id, rev, ops, { committedAt: 100 + rev, clientId });

/** `count` changes, each written on the state the ones before it produced. */
function sequentialChanges(doc: unknown, rand: Rand, count: number, prefix: string): Change[] {
  const out: Change[] = [];
  let state = doc;
  for (let i = 0; i < count; i++) {
    const ops = randomOps(state as never, rand, 1 + rand.int(3), SIMULATION_FAMILIES);
    state = applyPatch(state, ops, { mode: 'strict' });
    out.push(change(`${prefix}${i}`, 4 + i, ops));
  }
  return out;
}

function runSimulation(seed: number, clients: number, steps: number, families?: OpFamilies): OTSimulation {
  const rand = seededRand(seed);
  const sim = new OTSimulation(rand, clients, randomDoc(rand), families);
  for (let i = 0; i < steps; i++) sim.step();
  sim.quiesce();
  return sim;
}

describe('transformIncomingChanges', () => {
  it('should transform an incoming batch over the foreign changes committed since its baseRev', () => {
    const since = [committed('f', 4, [{ op: 'remove', path: '/l/0' }])];
    const incoming = [change('a', 4, [{ op: 'replace', path: '/l/2', value: 'x' }], { user: 'bob' })];
    expect(transformIncomingChanges(since, incoming, () => false)).toEqual([{ ...incoming[0], ops: [{ op: 'replace', path: '/l/1', value: 'x' }] }]);
  });

  it('should return an untouched change as the same object and leave revs to the server', () => {
    const incoming = [change('a', 4, [{ op: 'replace', path: '/x', value: 1 }])];
    const [result] = transformIncomingChanges([committed('f', 4, [{ op: 'replace', path: '/y', value: 1 }])], incoming, () => false);
    expect(result).toBe(incoming[0]);
  });

  it('lost-response retry of [A,B,C] after A committed: the tail is not transformed against its own echo', () => {
    // A was committed (as rev 4) but the response was lost; the client resends A, B, C.
    const a = change('A', 4, [{ op: 'add', path: '/l/0', value: 'a' }]);
    const b = change('B', 5, [{ op: 'replace', path: '/l/0', value: 'A' }]);
    const c = change('C', 6, [{ op: 'add', path: '/l/1', value: 'c' }]);
    const result = transformIncomingChanges([committed('A', 4, a.ops, 'me')], [a, b, c], (k) => k.clientId === 'me' && ['A', 'B', 'C'].includes(k.id));
    expect(result).toEqual([b, c]);
    expect(result[0]).toBe(b);
  });

  it('should pass over an own change of an earlier batch of the same upload without transforming against it', () => {
    const b = change('B', 5, [{ op: 'replace', path: '/l/0', value: 'A' }], { batchId: 'up' });
    const earlier = { ...committed('A', 4, [{ op: 'add', path: '/l/0', value: 'a' }], 'me'), batchId: 'up' };
    expect(transformIncomingChanges([earlier], [b], (k) => k.batchId === 'up')).toEqual([b]);
  });

  it('should drop incoming changes whose ops were all transformed away', () => {
    const since = [committed('f', 4, [{ op: 'remove', path: '/o' }])];
    const incoming = [change('a', 4, [{ op: 'replace', path: '/o/x', value: 1 }]), change('b', 5, [{ op: 'replace', path: '/p', value: 1 }])];
    expect(transformIncomingChanges(since, incoming, () => false).map((k) => k.id)).toEqual(['b']);
  });

  it('should stay in lockstep with the client rebase: same committed tail, same queue, same ops', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const rand = seededRand(seed);
        const doc = randomDoc(rand);
        const tail = sequentialChanges(doc, rand, 1 + rand.int(4), 'f');
        const queue = sequentialChanges(doc, rand, 1 + rand.int(4), 'q');
        const server = transformIncomingChanges(tail, queue, () => false);
        const client = rebaseChanges(tail, queue);
        expect(client.map((k) => [k.id, k.ops])).toEqual(server.map((k) => [k.id, k.ops]));
        // (That what the server would commit applies strictly on its head is not claimed: the
        // reference's rules keep e.g. a `test` a concurrent write falsified, 74 corpus cases.)
      }),
      { numRuns: 600 },
    );
  });

  describe('N clients through the in-process server', () => {
    // Every client converges on the server's state: what it committed is built from the
    // server's ops, its own included, and the server commits only ops that apply.
    it('should converge every client on the server state, with every committed op applying strictly', () => {
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 3, max: 5 }), fc.integer({ min: 10, max: 60 }), (seed, clients, steps) => {
          const sim = runSimulation(seed, clients, steps);
          const head = JSON.stringify(sortKeys(sim.state));
          for (const client of sim.clients) {
            expect(client.rev).toBe(sim.log.length);
            expect(JSON.stringify(sortKeys(client.state))).toBe(head);
            expect(JSON.stringify(sortKeys(sim.view(client)))).toBe(head);
            expect(client.pending).toEqual([]);
          }
          expect(sim.log.map((change) => change.rev)).toEqual(sim.log.map((_, i) => i + 1));
          const logged = sim.log.map((change) => change.id);
          expect(new Set(logged).size).toBe(logged.length);
          for (const client of sim.clients) {
            for (const id of client.minted) expect(logged.includes(id) !== client.vanished.has(id)).toBe(true);
          }
        }),
        { numRuns: 600 },
      );
    });

    // No longer claimed: "a delivery never changes what a client shows except by the foreign ops
    // it receives" (TP1 over the queue). The reference's rules do not satisfy TP1 (two inserts at
    // one index each land first in their own transform), and they win; replicas agree through
    // the server's committed ops instead (the property above).
  });
});
