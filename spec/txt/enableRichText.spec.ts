import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { setRichTextEngine } from '../../src/algorithms/richText.js';
import { transformPatch } from '../../src/algorithms/transformPatch.js';
import { Patches } from '../../src/client/Patches.js';
import { RichTextNotEnabledError } from '../../src/errors.js';
import { PatchesSync } from '../../src/net/PatchesSync.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { enableRichText } from '../../src/txt/enableRichText.js';
import type { JSONPatchOp } from '../../src/types.js';
import { startServerProcess, type ServerProcess } from '../helpers/serverProcess.js';
import { docSynced, when } from '../helpers/syncHarness.js';
import { connectClient } from '../helpers/wsClient.js';

const txt = (path: string, value: unknown[]): JSONPatchOp => ({ op: '@txt', path, value });

describe('enableRichText', () => {
  afterEach(() => setRichTextEngine(undefined));

  it('should apply @txt through quill-delta once called, and change nothing when called again', () => {
    const op = txt('/body', [{ retain: 5 }, { insert: '!' }]);
    const state = { body: { ops: [{ insert: 'Hello\n' }] } };
    expect(() => applyPatch(state, [op])).toThrow(RichTextNotEnabledError);
    enableRichText();
    enableRichText();
    expect(applyPatch(state, [op])).toEqual({ body: { ops: [{ insert: 'Hello!\n' }] } });
  });

  it('should transform concurrent @txt at one path with quill-delta, the earlier insert first at a tie', () => {
    enableRichText();
    expect(transformPatch([txt('/t', [{ insert: 'A' }])], [txt('/t', [{ insert: 'B' }])])).toEqual([txt('/t', [{ retain: 1 }, { insert: 'B' }])]);
  });

  // The server runs in its own process: in this one nothing enables rich text until the spec does.
  describe('a client without it, and a server that accepts @txt', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServerProcess(['--memory']);
    });
    afterAll(async () => {
      await server.stop('SIGTERM');
    });

    it('should report RichTextNotEnabledError through onError, keep its pending change, and sync once enabled', async () => {
      const patches = new Patches({ store: new InMemoryStore() });
      const sync = new PatchesSync(patches, server.url, { reconnectDelay: 20, maxReconnectDelay: 200 });
      const errors: Error[] = [];
      sync.onError((error) => errors.push(error));
      try {
        await sync.connect();
        const doc = await patches.openDoc<{ title?: string; body?: unknown }>('story');
        doc.change((draft) => {
          draft.title = 'Draft';
        });
        await docSynced(sync, 'story', 1);
        sync.disconnect();

        // Offline: a local edit stays pending while another client writes rich text.
        doc.change((draft) => {
          draft.title = 'Final';
        });
        const writer = await connectClient(server.url);
        const reply = await writer.call('commitChanges', ['story', [{ id: 'w1', baseRev: 1, rev: 2, ops: [txt('/body', [{ insert: 'Hello' }])], createdAt: 1000, committedAt: 0 }]]);
        await writer.close();
        expect(reply.error).toBeUndefined();

        await sync.connect();
        const failed = await when(sync.synced$, (synced) => synced.story?.status === 'error');
        expect(errors.filter((error) => error instanceof RichTextNotEnabledError)).toHaveLength(1);
        expect(errors[0].message).toContain("import { enableRichText } from 'patches-rx/txt'");
        expect({ rev: doc.committedRev, pending: doc.hasPending, state: doc.state, entry: failed.story.hasPending }).toEqual({
          rev: 1,
          pending: true,
          state: { title: 'Final' },
          entry: true,
        });

        enableRichText();
        sync.disconnect();
        await sync.connect();
        await docSynced(sync, 'story', 3);
        expect(doc.state).toEqual({ title: 'Final', body: { ops: [{ insert: 'Hello\n' }] } });
        expect(doc.hasPending).toBe(false);
      } finally {
        sync.disconnect();
        await patches.close();
      }
    });
  });
});
