import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import { Patches } from '../../src/client/Patches.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

/**
 * Several instances on one database (tabs of an app): two `Patches`, each with its own store
 * object on ONE fake-indexeddb database (and, for parity, on one shared `InMemoryStore`), edit the
 * same OT and LWW docs and sync them with a small in-process server, while fast-check's scheduler
 * decides when each store call starts — so mints, server batches and sends of the two instances
 * interleave in every order it finds. Afterwards nothing is lost or duplicated: every edit is on
 * the server exactly once, every batch the server received shared one base rev, and both
 * instances hold and show the server's state with nothing pending.
 */

type Doc = { tokens?: Record<string, number>; list?: string[] };

/** A minimal OT + LWW server: a log per doc, transforms incoming batches, idempotent by change id. */
class SimServer {
  readonly logs = new Map<string, Change[]>();
  readonly states = new Map<string, Doc>();
  readonly faults: string[] = [];

  log(docId: string): Change[] {
    let log = this.logs.get(docId);
    if (!log) this.logs.set(docId, (log = []));
    return log;
  }

  commitOT(docId: string, batch: Change[]): Change[] {
    const log = this.log(docId);
    const baseRev = batch[0].baseRev;
    if (batch.some(c => c.baseRev !== baseRev)) this.faults.push(`${docId}: a batch mixed base revs ${batch.map(c => c.baseRev).join(',')}`);
    if (baseRev > log.length) this.faults.push(`${docId}: a batch on future rev ${baseRev}`);
    const known = new Set(log.map(c => c.id));
    const ids = new Set(batch.map(c => c.id));
    const fresh = transformIncomingChanges(log.slice(baseRev), batch.filter(c => !known.has(c.id)), c => ids.has(c.id));
    this.append(docId, fresh, 'strict');
    return log.slice(baseRev);
  }

  commitLWW(docId: string, batch: Change[]): Change[] {
    const log = this.log(docId);
    const from = log.length;
    const known = new Set(log.map(c => c.id));
    this.append(docId, batch.filter(c => !known.has(c.id)), 'lenient');
    // The reply names the sent change even when it was committed before (a resend).
    return [...log.filter(c => batch.some(b => b.id === c.id) && c.rev <= from), ...log.slice(from)];
  }

  private append(docId: string, changes: Change[], mode: 'strict' | 'lenient'): void {
    const log = this.log(docId);
    for (const change of changes) {
      try {
        this.states.set(docId, applyPatch(this.states.get(docId) ?? {}, change.ops, { mode }));
      } catch (error) {
        this.faults.push(`${docId}: change ${change.id} does not apply: ${String(error)}`);
        continue;
      }
      log.push({ ...change, baseRev: log.length, rev: log.length + 1, committedAt: 1 });
    }
  }
}

/** A store whose every call waits for fast-check's scheduler to let it start. */
function scheduled(store: PatchesStore, s: fc.Scheduler, name: string): PatchesStore {
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function' || prop === 'changes$') return value;
      return (...args: unknown[]) => s.schedule(Promise.resolve(`${name}.${String(prop)}`)).then(() => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

/** One step of one instance. */
type Step = { who: 0 | 1; what: 'editOT' | 'editLWW' | 'send' | 'receive' | 'refresh' };

const step: fc.Arbitrary<Step> = fc.record({
  who: fc.constantFrom<0 | 1>(0, 1),
  what: fc.constantFrom<Step['what']>('editOT', 'editOT', 'editLWW', 'send', 'receive', 'refresh'),
});

interface Instance {
  patches: Patches;
  ot: PatchesDoc<Doc>;
  lww: PatchesDoc<Doc>;
}

async function sendDoc(server: SimServer, i: Instance, docId: string): Promise<void> {
  const algorithm = i.patches.algorithms[docId === 'ot' ? 'ot' : 'lww'];
  const batch = await i.patches.runExclusive(docId, () => algorithm.getPendingToSend(docId));
  if (batch.length === 0) return;
  const reply = docId === 'ot' ? server.commitOT(docId, batch) : server.commitLWW(docId, batch);
  await i.patches.runExclusive(docId, () => algorithm.applyServerChanges(docId, reply, batch));
}

async function receiveDoc(server: SimServer, i: Instance, docId: string): Promise<void> {
  const algorithm = i.patches.algorithms[docId === 'ot' ? 'ot' : 'lww'];
  await i.patches.runExclusive(docId, async () => {
    const rev = await i.patches.store.getCommittedRev(docId);
    await algorithm.applyServerChanges(docId, server.log(docId).slice(rev));
  });
}

/** What a store notification makes an instance do: its open docs follow the store. */
function refreshDocs(i: Instance): Promise<unknown> {
  return Promise.all(['ot', 'lww'].map(docId => i.patches.runExclusive(docId, () => i.patches.algorithms[docId === 'ot' ? 'ot' : 'lww'].refresh(docId))));
}

/** Runs one interleaving; resolves to the list of failures (empty when everything holds). */
async function run(s: fc.Scheduler, steps: Step[], makeStores: () => [PatchesStore, PatchesStore]): Promise<string[]> {
  const server = new SimServer();
  // Both docs exist on the server before the instances start (so no two instances create /tokens).
  server.commitOT('ot', [{ id: 'seed-ot', baseRev: 0, rev: 1, ops: [{ op: 'add', path: '/tokens', value: {} }, { op: 'add', path: '/list', value: [] }], createdAt: 0, committedAt: 0 }]);
  server.commitLWW('lww', [{ id: 'seed-lww', baseRev: 0, rev: 1, ops: [{ op: 'add', path: '/tokens', value: {}, ts: 0 }], createdAt: 0, committedAt: 0 }]);
  const [storeA, storeB] = makeStores();
  const instances: Instance[] = [];
  for (const [n, store] of [storeA, storeB].entries()) {
    const patches = new Patches({ store: scheduled(store, s, `store${n}`) });
    const opening = Promise.all([patches.openDoc<Doc>('ot'), patches.openDoc<Doc>('lww', { algorithm: 'lww' })]);
    const [ot, lww] = await s.waitFor(opening);
    instances.push({ patches, ot, lww });
  }
  for (const i of instances) for (const docId of ['ot', 'lww']) await s.waitFor(receiveDoc(server, i, docId));
  for (const i of instances) await s.waitFor(refreshDocs(i));

  const edits: string[] = [];
  const tasks: Promise<unknown>[] = [];
  for (const [n, { who, what }] of steps.entries()) {
    const i = instances[who];
    const token = `t${n}`;
    if (what === 'editOT') {
      edits.push(token);
      i.ot.change(draft => {
        draft.tokens![token] = n;
        draft.list!.splice(n % ((draft.list?.length ?? 0) + 1), 0, token);
      });
    } else if (what === 'editLWW') {
      i.lww.change(draft => {
        draft.tokens![token] = n;
      });
      edits.push(`lww:${token}`);
    } else if (what === 'refresh') {
      tasks.push(refreshDocs(i));
    } else {
      tasks.push((what === 'send' ? sendDoc : receiveDoc)(server, i, 'ot'), (what === 'send' ? sendDoc : receiveDoc)(server, i, 'lww'));
    }
  }
  await s.waitFor(Promise.all([...tasks, ...instances.flatMap(i => [i.ot.flush(), i.lww.flush()])]));

  // Drain: each instance sends and catches up until nothing is pending anywhere (bounded).
  for (let round = 0; round < 6; round++) {
    for (const i of instances) {
      for (const docId of ['ot', 'lww']) {
        await s.waitFor(sendDoc(server, i, docId));
        await s.waitFor(receiveDoc(server, i, docId));
      }
    }
  }
  for (const i of instances) await s.waitFor(refreshDocs(i));

  const failures = [...server.faults];
  const otState = server.states.get('ot') ?? {};
  const lwwState = server.states.get('lww') ?? {};
  const otLog = server.log('ot');
  for (const token of edits) {
    if (token.startsWith('lww:')) {
      const t = token.slice(4);
      if (lwwState.tokens?.[t] === undefined) failures.push(`LWW edit ${t} lost`);
      continue;
    }
    if (otState.tokens?.[token] === undefined) failures.push(`OT edit ${token} lost`);
    const inList = (otState.list ?? []).filter(x => x === token).length;
    if (inList !== 1) failures.push(`OT list holds ${token} ${inList} times`);
    const adds = otLog.flatMap(c => c.ops).filter((op: JSONPatchOp) => op.path === `/tokens/${token}`).length;
    if (adds !== 1) failures.push(`OT edit ${token} committed ${adds} times`);
  }
  for (const [n, i] of instances.entries()) {
    for (const [docId, want, doc] of [['ot', otState, i.ot], ['lww', lwwState, i.lww]] as const) {
      const stored = await s.waitFor(i.patches.store.getDoc(docId));
      const head = server.log(docId).length;
      if (stored?.committedRev !== head) failures.push(`instance ${n} ${docId}: committedRev ${stored?.committedRev} ≠ ${head}`);
      if (stored && (stored.pending.length || stored.pendingOps.length || stored.sending)) failures.push(`instance ${n} ${docId}: still pending`);
      if (JSON.stringify(stored?.state ?? {}) !== JSON.stringify(want)) failures.push(`instance ${n} ${docId}: stored ${JSON.stringify(stored?.state)} ≠ server ${JSON.stringify(want)}`);
      if (JSON.stringify(doc.state) !== JSON.stringify(want)) failures.push(`instance ${n} ${docId}: view ${JSON.stringify(doc.state)} ≠ server ${JSON.stringify(want)}`);
      if (doc.hasPending) failures.push(`instance ${n} ${docId}: view says hasPending`);
    }
  }
  for (const i of instances) await s.waitFor(i.patches.close());
  return failures;
}

describe('several instances on one database', () => {
  it('should lose and duplicate nothing with two IndexedDBStores on one fake-indexeddb database, in any interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(step, { minLength: 4, maxLength: 24 }), async (s, steps) => {
        const factory = new IDBFactory();
        const failures = await run(s, steps, () => [
          new IndexedDBStore('shared', { indexedDB: factory, channel: null }),
          new IndexedDBStore('shared', { indexedDB: factory, channel: null }),
        ]);
        expect(failures).toEqual([]);
      }),
      { numRuns: 60 },
    );
    // 60 runs over fake-indexeddb take ~10 s alone: the suite's 20 s default is too tight on a loaded 2-core machine.
  }, 60_000);

  it('should lose and duplicate nothing with two Patches on one InMemoryStore, in any interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(step, { minLength: 4, maxLength: 24 }), async (s, steps) => {
        const shared = new InMemoryStore();
        // One object for both: closing one Patches must not close the other's store.
        const keepOpen = new Proxy(shared, { get: (target, prop) => (prop === 'close' ? async () => {} : Reflect.get(target, prop)) });
        const failures = await run(s, steps, () => [keepOpen, keepOpen]);
        expect(failures).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
