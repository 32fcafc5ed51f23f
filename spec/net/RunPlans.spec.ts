import { firstValueFrom } from 'rxjs';
import type { ClientAlgorithm } from '../../src/client/ClientAlgorithm.js';
import type { PlannedBatch } from '../../src/net/DocSync.js';
import { RunPlans } from '../../src/net/RunPlans.js';
import { KeyedQueue } from '../../src/util/KeyedQueue.js';

const algorithm = {} as ClientAlgorithm;

/**
 * A doc's queue, its edits saved in it (`saveEdit`: unsaved until its turn), and the plans of its
 * runs, which list the edits saved by the time they are taken.
 */
function setup(options: { failPlan?: boolean } = {}) {
  const queue = new KeyedQueue();
  const saved: string[] = [];
  let unsaved = 0;
  const requested: string[] = [];
  let plansTaken = 0;
  const plans = new RunPlans({
    runExclusive: (docId, task) => queue.run(docId, task),
    unsaved: () => unsaved > 0,
    pendingBatches: async () => {
      plansTaken++;
      if (options.failPlan) throw new Error('store down');
      return [{ batch: saved.map(id => ({ id })), answers: [] }] as unknown as PlannedBatch[];
    },
    requestSync: docId => requested.push(docId),
  });
  const saveEdit = (id: string): Promise<void> => {
    unsaved++;
    return queue.run('doc', async () => {
      unsaved--;
      saved.push(id);
    });
  };
  const ids = (planned: PlannedBatch[]) => planned.flatMap(p => p.batch.map(c => c.id));
  return { plans, queue, saveEdit, requested, ids, taken: () => plansTaken };
}

describe('RunPlans', () => {
  it('should plan after an edit whose save waits behind the plan in the queue, once, and let that save ask for no run of its own', async () => {
    const { plans, saveEdit, requested, ids } = setup();
    const planned = firstValueFrom(plans.planned$('doc', algorithm));
    // The app's next edit in the same task: its save is queued behind the plan's first turn.
    const save = saveEdit('e1');
    expect(plans.tookEdit('doc')).toBe(true);
    expect(ids(await planned)).toEqual(['e1']);
    await save;
    expect(requested).toEqual([]);
    // Planned: an edit saved now asks for its own run.
    expect(plans.tookEdit('doc')).toBe(false);
  });

  it('should step behind unsaved edits only once: a stream of edits cannot hold the send back', async () => {
    const { plans, queue, saveEdit, ids } = setup();
    const planned = firstValueFrom(plans.planned$('doc', algorithm));
    void saveEdit('e1');
    // An edit made while the plan's first turn runs: its save waits behind the plan's second turn.
    void queue.run('doc', async () => void saveEdit('e2'));
    expect(ids(await planned)).toEqual(['e1']);
  });

  it('should hand an edit taken by a plan that fails the run its save would have asked for', async () => {
    const { plans, saveEdit, requested } = setup({ failPlan: true });
    const planned = firstValueFrom(plans.planned$('doc', algorithm));
    void saveEdit('e1');
    expect(plans.tookEdit('doc')).toBe(true);
    await expect(planned).rejects.toThrow('store down');
    expect(requested).toEqual(['doc']);
  });

  it('should ask for no run when a plan that took no edit fails', async () => {
    const { plans, requested } = setup({ failPlan: true });
    await expect(firstValueFrom(plans.planned$('doc', algorithm))).rejects.toThrow('store down');
    expect(requested).toEqual([]);
  });

  it('should hand an edit taken by a run stopped before it planned the run its save would have asked for', async () => {
    const { plans, queue, requested, taken } = setup();
    const subscription = plans.planned$('doc', algorithm).subscribe();
    expect(plans.tookEdit('doc')).toBe(true);
    subscription.unsubscribe();
    expect(requested).toEqual(['doc']);
    expect(plans.tookEdit('doc')).toBe(false);
    await queue.settled('doc');
    // The plan's turn still comes (the queue cannot take it back); nothing more is asked for.
    expect(requested).toEqual(['doc']);
    expect(taken()).toBe(1);
  });

  it('should ask for nothing when a run stopped before it planned took no edit', () => {
    const { plans, requested } = setup();
    plans.planned$('doc', algorithm).subscribe().unsubscribe();
    expect(requested).toEqual([]);
  });
});
