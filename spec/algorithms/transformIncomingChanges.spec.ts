import fc from 'fast-check';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import type { Change } from '../../src/types.js';
import { OTSimulation, randomDoc, seededRand, sortKeys, type OpFamilies } from '../helpers/otSimulation.js';

/** Families TP1 holds for over a whole queue: no moves/copies (their gaps) and no appends. */
const VIEW_FAMILIES: OpFamilies = { moves: false, append: false, soft: true, test: true, textResets: false };

function runSimulation(seed: number, clients: number, steps: number, families?: OpFamilies, checkViews = false): OTSimulation {
  const rand = seededRand(seed);
  const sim = new OTSimulation(rand, clients, randomDoc(rand), families, checkViews);
  for (let i = 0; i < steps; i++) sim.step();
  sim.quiesce();
  return sim;
}

describe('transformIncomingChanges', () => {
  describe('N clients through the in-process server', () => {
    it('should converge every client on the server state, with every op applying strictly', () => {
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 3, max: 5 }), fc.integer({ min: 10, max: 60 }), (seed, clients, steps) => {
          const sim = runSimulation(seed, clients, steps);
          const head = JSON.stringify(sortKeys(sim.state));
          for (const client of sim.clients) {
            expect(client.rev).toBe(sim.log.length);
            expect(JSON.stringify(sortKeys(client.state))).toBe(head);
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

    it('should never change what a client shows except by the foreign ops it receives (no moves)', () => {
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 3, max: 5 }), fc.integer({ min: 10, max: 60 }), (seed, clients, steps) => {
          runSimulation(seed, clients, steps, VIEW_FAMILIES, true);
        }),
        { numRuns: 600 },
      );
    });
  });
});
