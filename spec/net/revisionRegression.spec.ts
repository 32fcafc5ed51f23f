import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { Patches } from '../../src/client/Patches.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { ServerRevisionRegressedError, StatusError, TimeoutError } from '../../src/errors.js';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { PatchesSync } from '../../src/net/PatchesSync.js';
import { mayBeRevisionRegression } from '../../src/net/revisionRegression.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { Algorithm, PatchesSnapshot } from '../../src/types.js';
import { BackedUpMemoryStore } from '../helpers/backedUpMemoryStore.js';
import { startFaultProxy, type FaultProxy } from '../helpers/faultProxy.js';
import { docSynced, when } from '../helpers/syncHarness.js';

describe('mayBeRevisionRegression', () => {
  it('should take a 409 of scope doc (ours with headRev, the anchor\'s without) and a regressed reply as hints', () => {
    expect(mayBeRevisionRegression(new StatusError(409, 'REV_AHEAD', { scope: 'doc', headRev: 4 }))).toBe(true);
    expect(mayBeRevisionRegression(new StatusError(409, 'Client baseRev is ahead', { scope: 'doc' }))).toBe(true);
    expect(mayBeRevisionRegression(new ServerRevisionRegressedError('d', 9, 4))).toBe(true);
  });

  it('should not take other errors as hints', () => {
    expect(mayBeRevisionRegression(new StatusError(409, 'conflict'))).toBe(false);
    expect(mayBeRevisionRegression(new StatusError(409, 'conflict', { scope: 'change' }))).toBe(false);
    expect(mayBeRevisionRegression(new StatusError(400, 'bad', { scope: 'doc' }))).toBe(false);
    expect(mayBeRevisionRegression(new TimeoutError('slow'))).toBe(false);
    expect(mayBeRevisionRegression(undefined)).toBe(false);
  });
});

/** A server whose store can be swapped for an older copy of itself across a restart. */
interface RestorableServer {
  start(port: number): Promise<RunningServer>;
  /** Remembers the store as it is now (the server keeps running). */
  backup(): Promise<void>;
  /** While the server is down: the store becomes the copy `backup()` remembered. */
  restoreBackup(): Promise<void>;
  cleanup(): void;
}

function fileServer(): RestorableServer {
  const dataDir = mkdtempSync(join(tmpdir(), 'patches-rx-regress-'));
  const backupDir = mkdtempSync(join(tmpdir(), 'patches-rx-backup-'));
  return {
    start: port => startServer({ port, dataDir }),
    // Every acknowledged commit is fsynced: a copy of the directory is a consistent backup.
    backup: async () => cpSync(dataDir, backupDir, { recursive: true }),
    restoreBackup: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      cpSync(backupDir, dataDir, { recursive: true });
    },
    cleanup: () => {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(backupDir, { recursive: true, force: true });
    },
  };
}

function memoryServer(): RestorableServer {
  const original = new BackedUpMemoryStore();
  let store = original as BackedUpMemoryStore | Awaited<ReturnType<BackedUpMemoryStore['restore']>>;
  let mark = 0;
  return {
    start: port => startServer({ port, store }),
    backup: async () => {
      mark = original.backup();
    },
    restoreBackup: async () => {
      store = await original.restore(mark);
    },
    cleanup: () => {},
  };
}

type Doc = { list?: string[] } & Record<string, unknown>;

/** One labelled edit, per algorithm: an OT push into a list, an LWW write of its own key. */
const edits: Record<Algorithm, { edit(doc: PatchesDoc<Doc>, label: string): void; labels(state: Doc): string[] }> = {
  ot: {
    edit: (doc, label) =>
      doc.change(draft => {
        if (!draft.list) draft.list = [];
        draft.list.push(label);
      }),
    labels: state => state.list ?? [],
  },
  lww: {
    edit: (doc, label) =>
      doc.change(draft => {
        draft[label] = label;
      }),
    labels: state => Object.keys(state).filter(key => state[key] === key),
  },
};

interface Client {
  patches: Patches;
  sync: PatchesSync;
  doc: PatchesDoc<Doc>;
  errors: Error[];
}

describe.each([
  ['OT', 'ot' as Algorithm, 'notes'],
  ['LWW', 'lww' as Algorithm, 'lww-notes'],
])('a server that went back in time (%s)', (_name, algorithm, docId) => {
  describe.each([
    ['file store restored from a copy', fileServer],
    ['memory store restored from a copy', memoryServer],
  ])('%s', (_storeName, makeServer) => {
    let restorable: RestorableServer;
    let server: RunningServer;
    let proxy: FaultProxy;
    let port: number;
    const clients: Client[] = [];
    const { edit, labels } = edits[algorithm];

    beforeEach(async () => {
      restorable = makeServer();
      server = await restorable.start(0);
      port = server.port;
      proxy = await startFaultProxy(port);
    });

    afterEach(async () => {
      for (const { sync } of clients.splice(0)) sync.destroy();
      await proxy.close();
      await server.close();
      restorable.cleanup();
    });

    async function client(): Promise<Client> {
      const patches = new Patches({ store: new InMemoryStore() });
      const sync = new PatchesSync(patches, proxy.url, { reconnectDelay: 20, maxReconnectDelay: 100 });
      const errors: Error[] = [];
      sync.onError(error => errors.push(error));
      await sync.connect();
      const doc = await patches.openDoc<Doc>(docId, { algorithm });
      const made = { patches, sync, doc, errors };
      clients.push(made);
      return made;
    }

    /** One edit by `by`, awaited until committed as the next rev. */
    async function commitOne(by: Client, label: string, rev: number): Promise<number> {
      await when(by.doc.state$, () => by.doc.committedRev >= rev);
      edit(by.doc, label);
      await docSynced(by.sync, docId, rev + 1);
      return rev + 1;
    }

    async function serverHead(via: Client): Promise<{ state: Doc; rev: number }> {
      const snapshot = await firstValueFrom(via.sync.call<PatchesSnapshot>('getDoc', docId));
      const state = applyPatch(snapshot.state ?? {}, snapshot.changes.flatMap(c => c.ops), { mode: 'lenient' }) as Doc;
      return { state, rev: snapshot.changes.reduce((max, c) => Math.max(max, c.rev), snapshot.rev) };
    }

    it('should detect it, reload, keep and resend what is pending, report it once per client, and converge', async () => {
      const [a, b, c] = [await client(), await client(), await client()];
      let rev = await commitOne(a, 'base', 0);
      rev = await commitOne(b, 'kept-1', rev);
      rev = await commitOne(a, 'kept-2', rev);
      await Promise.all([a, b, c].map(x => docSynced(x.sync, docId, rev)));
      await restorable.backup();
      const backupRev = rev;

      // Committed, seen by every client, then lost with the restore.
      for (let i = 0; i < 6; i++) rev = await commitOne(i % 2 ? a : b, `lost-${i}`, rev);
      await Promise.all([a, b, c].map(x => docSynced(x.sync, docId, rev)));
      const lostRev = rev;

      proxy.refuse = true;
      proxy.dropAll();
      await server.close();
      await Promise.all([a, b, c].map(x => when(x.sync.state$, s => !s.connected)));
      // Pending while the server is down; c has nothing pending (it is at rest at lostRev).
      edit(a.doc, 'a-offline-1');
      edit(a.doc, 'a-offline-2');
      edit(b.doc, 'b-offline-1');
      await Promise.all([a.doc.flush(), b.doc.flush()]);
      const reported = [a, b, c].map(x => firstValueFrom(x.sync.error$.pipe(filter(e => e.error instanceof ServerRevisionRegressedError))));

      await restorable.restoreBackup();
      server = await restorable.start(port);
      proxy.refuse = false;

      // Every client notices, c included.
      const events = await Promise.all(reported);
      for (const event of events) {
        expect(event.docId).toBe(docId);
        const error = event.error as ServerRevisionRegressedError;
        expect({ docId: error.docId, localRev: error.localRev }).toEqual({ docId, localRev: lostRev });
        expect(error.serverRev).toBeGreaterThanOrEqual(backupRev);
        expect(error.serverRev).toBeLessThan(lostRev);
      }

      // Nothing pending is lost: once a and b have nothing pending, everyone reaches the server's head.
      await Promise.all([a, b].map(x => when(x.sync.synced$, s => s[docId]?.status === 'synced' && !s[docId].hasPending && !x.doc.hasPending)));
      const head = await serverHead(a);
      await Promise.all([a, b, c].map(x => docSynced(x.sync, docId, head.rev)));
      await Promise.all([a, b, c].map(x => when(x.doc.state$, () => x.doc.committedRev === head.rev)));

      const expected = ['base', 'kept-1', 'kept-2', 'a-offline-1', 'a-offline-2', 'b-offline-1'];
      expect(labels(head.state).slice().sort()).toEqual(expected.slice().sort());
      for (const [i, x] of [a, b, c].entries()) {
        expect({ client: i, rev: x.doc.committedRev, pending: x.doc.hasPending, state: x.doc.state }).toEqual({ client: i, rev: head.rev, pending: false, state: head.state });
        // Reported once, and nothing else.
        expect({ client: i, errors: x.errors.map(e => e.name) }).toEqual({ client: i, errors: ['ServerRevisionRegressedError'] });
      }

      const fresh = await client();
      await docSynced(fresh.sync, docId, head.rev);
      expect(fresh.doc.state).toEqual(head.state);
      expect(fresh.errors).toEqual([]);
    });
  });
});
