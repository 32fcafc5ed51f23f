import { firstValueFrom, merge } from 'rxjs';
import { readCapabilities } from '../../src/net/serverCapabilities.js';
import type { StartServerOptions } from '../../src/server/index.js';
import type { Change } from '../../src/types.js';
import { frameLog, type FrameLog } from '../helpers/countingWebSocket.js';
import { holdingStore } from '../helpers/holdingStore.js';
import { docSynced, idle, serverHistory, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';

describe('readCapabilities', () => {
  it('should keep only well-formed capabilities', () => {
    expect(readCapabilities({ batch: { maxLength: 1000 }, compactAck: true })).toEqual({ batch: { maxLength: 1000 }, compactAck: true });
    expect(readCapabilities({ batch: { maxLength: 1 }, compactAck: 'yes' })).toEqual({});
    expect(readCapabilities({ batch: { maxLength: 2.5 } })).toEqual({});
    expect([null, undefined, 'batch', [], {}].map(readCapabilities)).toEqual([{}, {}, {}, {}, {}]);
  });
});

describe('resync after a reconnect', () => {
  const DOCS = 30;
  const ids = Array.from({ length: DOCS }, (_, i) => `doc-${i}`);
  let harness: SyncHarness;

  afterEach(async () => {
    await harness.close();
  });

  /**
   * A client tracking DOCS synced docs (at rev 1) loses its connection; another client changes every doc
   * meanwhile; the first comes back. Resolves with the frames the first client sent and received
   * from the reconnect until every doc is caught up.
   */
  async function reconnectAfterChanges(options: StartServerOptions): Promise<{ log: FrameLog; sent: string[]; received: string[]; client: TestClient }> {
    harness = await startHarness(options);
    const log = frameLog();
    const client = harness.client({ websocket: { WebSocketCtor: log.WebSocketCtor } });
    const writer = harness.client();
    // Straight to the server: the proxy's cut is for the first client only.
    writer.sync.url = harness.server.url;
    await Promise.all([client.sync.connect(), writer.sync.connect()]);
    const docs = await Promise.all(ids.map(id => writer.patches.openDoc<{ n?: number }>(id)));
    for (const doc of docs) {
      doc.change(draft => {
        draft.n = 0;
      });
    }
    await Promise.all(ids.map(id => docSynced(writer.sync, id, 1)));
    await client.patches.trackDocs(ids);
    await Promise.all(ids.map(id => docSynced(client.sync, id, 1)));

    harness.proxy.refuse = true;
    harness.proxy.dropAll();
    await when(client.sync.state$, s => !s.connected);
    for (const doc of docs) {
      doc.change(draft => {
        draft.n = 1;
      });
    }
    await Promise.all(ids.map(id => docSynced(writer.sync, id, 2)));
    const [sentBefore, receivedBefore] = [log.sent.length, log.received.length];
    harness.proxy.refuse = false;
    await Promise.all(ids.map(id => docSynced(client.sync, id, 2)));
    await idle(client.sync);
    for (const id of ids) expect((await client.patches.store.getDoc(id))?.state).toEqual({ n: 1 });
    expect(client.errors).toEqual([]);
    return { log, sent: log.sent.slice(sentBefore), received: log.received.slice(receivedBefore), client };
  }

  it('should take O(1) frames each way with our server: the handshake, subscribe, one doc alone, the rest in one batch', async () => {
    const { log, sent, received } = await reconnectAfterChanges({});
    const methods = log.messages(sent).map(m => m.method);
    expect(methods.filter(m => m === 'getChangesSince')).toHaveLength(DOCS);
    expect(methods.slice(0, 2).sort()).toEqual(['getCapabilities', 'subscribe']);
    // getCapabilities, subscribe, the first doc's catch-up (nothing awaited yet), then one batch.
    expect(sent).toHaveLength(4);
    expect(JSON.parse(sent[3])).toHaveLength(DOCS - 1);
    expect(received).toHaveLength(4);
  });

  it('should keep to one request per frame with a server that speaks only the anchor wire (no getCapabilities, no batches)', async () => {
    const { log, sent, received } = await reconnectAfterChanges({ anchorWire: true });
    expect(sent.every(frame => !frame.startsWith('['))).toBe(true);
    expect(log.messages(sent).map(m => m.method).filter(m => m === 'getChangesSince')).toHaveLength(DOCS);
    expect(sent).toHaveLength(DOCS + 2);
    const handshake = log.messages(received).find(m => (m.error as { code?: number } | undefined)?.code === -32000);
    expect(handshake?.error).toMatchObject({ message: "Unknown method 'getCapabilities'." });
    expect(received).toHaveLength(DOCS + 2);
  });

  it('should never send the compactAck option to a server that did not offer it, and apply its full echoes', async () => {
    const { log, client } = await reconnectAfterChanges({ anchorWire: true });
    const doc = await client.patches.openDoc<{ n?: number }>('doc-0');
    doc.change(draft => {
      draft.n = 2;
    });
    await docSynced(client.sync, 'doc-0', 3);
    const commits = log.messages(log.sent).filter(m => m.method === 'commitChanges');
    expect(commits.map(m => (m.params as unknown[]).length)).toEqual([2]);
    const history = await firstValueFrom(client.sync.call<Change[]>('getChangesSince', 'doc-0', 0));
    expect(history.map(c => c.rev)).toEqual([1, 2, 3]);
    expect(doc.state).toEqual({ n: 2 });
  });
});

describe('catch-up by snapshot', () => {
  const WRITES = 150;
  let harness: SyncHarness;

  afterEach(async () => {
    await harness.close();
  });

  /**
   * A client following an OT doc at rev 1 loses its connection while another writes WRITES more
   * revs (each a 100-character string at /n, so the history since outweighs the doc), then
   * `meanwhile` runs and the connection comes back. Resolves once the client is at the head.
   */
  async function behindByMany(options: Parameters<SyncHarness['client']>[0] = {}, meanwhile: (client: TestClient, log: FrameLog) => void = () => undefined) {
    harness = await startHarness();
    const log = frameLog();
    const client = harness.client({ ...options, websocket: { WebSocketCtor: log.WebSocketCtor } });
    const writer = harness.client();
    writer.sync.url = harness.server.url;
    await Promise.all([client.sync.connect(), writer.sync.connect()]);
    const written = await writer.patches.openDoc<{ n?: string; mine?: string }>('notes');
    written.change(draft => {
      draft.n = 'first';
    });
    await docSynced(writer.sync, 'notes', 1);
    const doc = await client.patches.openDoc<{ n?: string; mine?: string }>('notes');
    await docSynced(client.sync, 'notes', 1);
    const heard: number[] = [];
    client.patches.onServerCommit((docId, changes) => heard.push(...changes.map(c => c.rev)));

    harness.proxy.refuse = true;
    harness.proxy.dropAll();
    await when(client.sync.state$, s => !s.connected);
    for (let i = 0; i < WRITES; i++) {
      written.change(draft => {
        draft.n = `${i}`.padEnd(100, '.');
      });
      await docSynced(writer.sync, 'notes', 2 + i);
    }
    const receivedBefore = log.received.length;
    harness.proxy.refuse = false;
    meanwhile(client, log);
    return { client, writer, written, doc, heard, log, receivedBefore };
  }

  it('should take the head state in one small reply instead of every change since, and hear no change of it', async () => {
    const { client, doc, written, heard, log, receivedBefore } = await behindByMany();
    await docSynced(client.sync, 'notes', 1 + WRITES);
    expect(doc.state).toEqual(written.state);
    expect((await client.patches.store.getDoc('notes'))?.state).toEqual(written.state);
    const asked = log.messages(log.sent).filter(m => m.method === 'getChangesSince');
    expect(asked.at(-1)?.params).toEqual(['notes', 1, { orSnapshot: true }]);
    const replies = log.received.slice(receivedBefore);
    expect(replies.join('').length).toBeLessThan(2_000);
    expect(heard).toEqual([]);
    expect(client.errors).toEqual([]);
  });

  it('should ask for every change with catchUpBySnapshot: false, and hear each', async () => {
    const { client, doc, written, heard, log } = await behindByMany({ catchUpBySnapshot: false });
    await docSynced(client.sync, 'notes', 1 + WRITES);
    expect(doc.state).toEqual(written.state);
    expect(log.messages(log.sent).filter(m => m.method === 'getChangesSince').at(-1)?.params).toEqual(['notes', 1]);
    expect(heard).toEqual(Array.from({ length: WRITES }, (_, i) => i + 2));
  });

  it('should send an edit made while the snapshot was on its way first, and converge on the server\'s order', async () => {
    let edited: Promise<void> | undefined;
    const { client, writer, doc, written } = await behindByMany({}, (c, log) => {
      edited = log.whenSent('"orSnapshot":true').then(async () => {
        const open = await c.patches.openDoc<{ mine?: string }>('notes');
        open.change(draft => {
          draft.mine = 'offline edit';
        });
      });
    });
    await edited;
    await docSynced(client.sync, 'notes', 2 + WRITES);
    await docSynced(writer.sync, 'notes', 2 + WRITES);
    expect(doc.state).toEqual({ n: `${WRITES - 1}`.padEnd(100, '.'), mine: 'offline edit' });
    expect(written.state).toEqual(doc.state);
    expect((await serverHistory(client, 'notes')).map(c => c.rev)).toEqual(Array.from({ length: 2 + WRITES }, (_, i) => i + 1));
    expect(client.errors).toEqual([]);
  });

  // Found in review: an edit made while the snapshot was being written was recorded on the old
  // state but sent as made on the head, untransformed: it removed another user's item.
  it('should rebase an edit made while the snapshot is written over what it did not see', async () => {
    harness = await startHarness({ catchUpSnapshotsFrom: 2 });
    const store = holdingStore();
    const client = harness.client({ store });
    const writer = harness.client();
    writer.sync.url = harness.server.url;
    await Promise.all([client.sync.connect(), writer.sync.connect()]);
    const written = await writer.patches.openDoc<{ list?: string[]; pad?: string }>('notes');
    written.change(draft => {
      draft.list = ['a', 'b', 'c'];
    });
    await docSynced(writer.sync, 'notes', 1);
    const doc = await client.patches.openDoc<{ list?: string[]; pad?: string }>('notes');
    await docSynced(client.sync, 'notes', 1);
    client.sync.disconnect();
    await when(client.sync.state$, s => !s.connected);
    written.change(draft => {
      draft.list!.shift();
    });
    written.change(draft => {
      draft.pad = 'x'.repeat(100);
    });
    written.change(draft => {
      delete draft.pad;
    });
    await docSynced(writer.sync, 'notes', 4);
    const installing = store.holdNext('saveDoc', docId => docId === 'notes');
    await client.sync.connect();
    await installing.reached;
    // The user removes the first item it sees, 'a', which the writer removed too.
    doc.change(draft => {
      draft.list!.shift();
    });
    installing.release();
    await docSynced(client.sync, 'notes', 4);
    await when(merge(doc.state$, client.sync.synced$), () => !doc.hasPending);
    await docSynced(writer.sync, 'notes', doc.committedRev);
    expect(doc.state).toEqual({ list: ['b', 'c'] });
    expect(written.state).toEqual(doc.state);
    expect(client.errors).toEqual([]);
  });
});
