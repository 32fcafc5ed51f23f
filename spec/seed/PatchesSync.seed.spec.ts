/**
 * Every code sample of shared/seed/PatchesSync.md, run against patches-rx with only the import
 * line changed (and the server URL pointed at our reference server on loopback). Helpers the
 * samples leave to the app (showError, updateUI, …) are jest mocks so each test can check what
 * the sample did.
 */
import 'fake-indexeddb/auto';
import { IndexedDBStore, InMemoryStore, Patches, PatchesSync } from '../../src/index.js';
import { docSynced, idle, startHarness, when, type SyncHarness } from '../helpers/syncHarness.js';

let harness: SyncHarness;
let serverUrl: string;
const cleanups: (() => void)[] = [];

beforeEach(async () => {
  harness = await startHarness();
  serverUrl = harness.server.url;
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await harness.close();
});

/** A second client that reads what the server has for a doc. */
async function serverView(docId: string, algorithm: 'ot' | 'lww' = 'ot') {
  const reader = harness.client();
  await reader.sync.connect();
  const doc = await reader.patches.openDoc(docId, { algorithm });
  await docSynced(reader.sync, docId, 1);
  return doc;
}

describe('seed: Setting Up', () => {
  it('should connect and sync a change made after the setup sample', async () => {
    // Create your Patches instance
    const patches = new Patches({
      store: new InMemoryStore(),
      metadata: {
        user: { id: 'user-123', name: 'Alice' },
      },
    });

    // Create PatchesSync with your server URL
    const sync = new PatchesSync(patches, serverUrl);
    cleanups.push(() => sync.destroy());

    // Connect to start syncing
    await sync.connect();

    // That's it. Documents sync automatically.
    expect(sync.state.connected).toBe(true);

    // The Sync Flow: Local Changes Going Out
    const doc = await patches.openDoc('flow');
    doc.change(draft => {
      draft.title = 'New Title';
    });
    await docSynced(sync, 'flow', 1);
    const seen = await serverView('flow');
    expect(seen.state).toEqual({ title: 'New Title' });
  });
});

describe('seed: State Management', () => {
  it('should report state and call the sample listener through a sync pass', async () => {
    const { patches, sync } = harness.client();
    await patches.trackDocs(['a']);
    const showError = jest.fn();
    const showSpinner = jest.fn();
    const showSuccess = jest.fn();

    // Check current state
    console.log(sync.state);
    // { online: true, connected: true, syncing: null }

    // React to state changes
    sync.onStateChange(state => {
      if (state.syncing instanceof Error) {
        showError('Sync failed: ' + state.syncing.message);
      } else if (state.syncing === 'updating') {
        showSpinner('Syncing...');
      } else if (state.connected) {
        showSuccess('All synced up!');
      }
    });

    await sync.connect();
    await idle(sync);
    expect(sync.state).toEqual({ online: true, connected: true, syncing: null });
    expect(showSuccess).toHaveBeenCalledWith('All synced up!');
    expect(showError).not.toHaveBeenCalled();
  });
});

describe('seed: Per-Document Sync Status', () => {
  it('should expose the synced map the reading, listening and indicator samples use', async () => {
    const { patches, sync } = harness.client();
    const showError = jest.fn();
    const updateDocIndicator = jest.fn();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    cleanups.push(() => log.mockRestore());

    sync.onSyncedChange(synced => {
      for (const [docId, info] of Object.entries(synced)) {
        updateDocIndicator(docId, info.status, info.hasPending);
      }
    });

    const elements: Record<string, { textContent: string }> = { 'status-project-notes': { textContent: '' } };
    (globalThis as { document?: unknown }).document = { getElementById: (id: string) => elements[id] ?? null };
    cleanups.push(() => delete (globalThis as { document?: unknown }).document);

    // Practical Example: Per-Document Save Indicator
    sync.onSyncedChange(synced => {
      for (const [docId, info] of Object.entries(synced)) {
        const el = document.getElementById(`status-${docId}`);
        if (!el) continue;

        switch (info.status) {
          case 'unsynced':
            el.textContent = 'Never synced';
            break;
          case 'syncing':
            el.textContent = info.hasPending ? 'Saving...' : 'Syncing...';
            break;
          case 'synced':
            el.textContent = info.hasPending ? 'Unsaved changes' : 'All saved';
            break;
          case 'error':
            el.textContent = 'Sync error';
            break;
        }
      }
    });

    await patches.trackDocs(['project-notes']);
    await when(sync.synced$, s => !!s['project-notes']);
    expect(elements['status-project-notes'].textContent).toBe('Never synced');
    await sync.connect();
    await idle(sync);
    const doc = await patches.openDoc('project-notes');
    doc.change(draft => {
      draft.title = 'Notes';
    });
    await docSynced(sync, 'project-notes', 1);

    // Get the full map
    const synced = sync.synced;

    // Check a specific document
    const docStatus = synced['project-notes'];
    if (docStatus?.status === 'error') {
      showError('Sync failed for project notes');
    }

    // Show an indicator per document
    for (const [docId, info] of Object.entries(sync.synced)) {
      console.log(`${docId}: rev=${info.committedRev}, pending=${info.hasPending}, status=${info.status}`);
    }

    expect(showError).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledWith('project-notes: rev=1, pending=false, status=synced');
    expect(updateDocIndicator).toHaveBeenLastCalledWith('project-notes', 'synced', false);
    expect(elements['status-project-notes'].textContent).toBe('All saved');
  });
});

describe('seed: Event Handling', () => {
  it('should deliver state changes, errors and remote deletions to the sample listeners', async () => {
    const { patches, sync } = harness.client();
    const updateConnectionIndicator = jest.fn();
    const showWarning = jest.fn();
    const errorLog = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    cleanups.push(() => {
      errorLog.mockRestore();
      log.mockRestore();
    });

    // State changes (connection, online status, sync status)
    sync.onStateChange(state => {
      updateConnectionIndicator(state);
    });

    // Errors (network issues, server errors)
    sync.onError((error, context) => {
      console.error('Sync error:', error);
      if (context?.docId) {
        console.log('Error related to document:', context.docId);
      }
    });

    // Remote document deletion
    const deleted = new Promise<void>(resolve => {
      sync.onRemoteDocDeleted((docId, pendingChanges) => {
        console.log(`Document ${docId} was deleted remotely`);
        if (pendingChanges.length > 0) {
          // Handle lost pending changes
          showWarning(`You had ${pendingChanges.length} unsaved changes`);
        }
        resolve();
      });
    });

    await sync.connect();
    const doc = await patches.openDoc('doomed');
    doc.change(draft => {
      draft.x = 1;
    });
    await docSynced(sync, 'doomed', 1);
    const other = harness.client();
    await other.sync.connect();
    await other.patches.openDoc('doomed');
    await docSynced(other.sync, 'doomed', 1);
    await other.patches.deleteDoc('doomed');
    await deleted;

    expect(updateConnectionIndicator).toHaveBeenCalledWith(expect.objectContaining({ connected: true }));
    expect(log).toHaveBeenCalledWith('Document doomed was deleted remotely');
    expect(sync.synced['doomed']).toBeUndefined();
  });
});

describe('seed: Configuration Options', () => {
  it('should accept the batching options and the subscribe filter', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const url = serverUrl;

    // Batching and Payload Limits
    const sync = new PatchesSync(patches, url, {
      maxPayloadBytes: 1024 * 1024, // 1MB max per network message
      maxStorageBytes: 512 * 1024, // 512KB max per stored change
    });
    cleanups.push(() => sync.destroy());

    // Subscribe Filtering
    const filtered = new PatchesSync(new Patches({ store: new InMemoryStore() }), url, {
      subscribeFilter: docIds => docIds.filter(id => !id.startsWith('local-')),
    });
    cleanups.push(() => filtered.destroy());

    await sync.connect();
    const doc = await patches.openDoc('configured');
    doc.change(draft => {
      draft.big = 'x'.repeat(700 * 1024);
    });
    await docSynced(sync, 'configured', 1);
    const seen = await serverView('configured');
    expect((seen.state.big as string).length).toBe(700 * 1024);
  });
});

describe('seed: Real-World Example', () => {
  it('should run the CollaborativeApp class as written', async () => {
    const notifications: unknown[] = [];
    const uiStates: unknown[] = [];
    const rendered: unknown[] = [];

    class CollaborativeApp {
      private patches: Patches;
      private sync: PatchesSync;

      constructor() {
        // Set up persistence
        const store = new IndexedDBStore('my-collaborative-app');

        // Create Patches with user metadata
        this.patches = new Patches({
          store,
          metadata: {
            user: this.getCurrentUser(),
            deviceId: this.getDeviceId(),
          },
          docOptions: {
            maxStorageBytes: 1024 * 1024, // 1MB max changes
          },
        });

        // Set up sync
        this.sync = new PatchesSync(this.patches, serverUrl, {
          maxPayloadBytes: 1024 * 1024,
        });
        cleanups.push(() => this.sync.destroy());

        this.setupEventListeners();
      }

      private setupEventListeners() {
        this.sync.onStateChange(state => {
          this.updateUI({
            isOnline: state.online,
            isConnected: state.connected,
            isSyncing: state.syncing === 'updating',
            syncError: state.syncing instanceof Error ? state.syncing : null,
          });
        });

        this.sync.onError((error, context) => {
          console.error('Sync error:', error);
          this.showNotification({
            type: 'error',
            message: `Sync failed: ${error.message}`,
            docId: context?.docId,
          });
        });

        this.sync.onRemoteDocDeleted((docId, pendingChanges) => {
          this.showNotification({
            type: 'warning',
            message: `Document was deleted`,
            details: pendingChanges.length > 0 ? `${pendingChanges.length} unsaved changes were lost` : undefined,
          });
        });
      }

      async initialize() {
        // Track user's recent documents
        const recentDocs = await this.getUserRecentDocs();
        await this.patches.trackDocs(recentDocs);

        // Connect to server
        await this.sync.connect();

        console.log('App initialized and syncing');
      }

      async openDocument(docId: string) {
        const doc = await this.patches.openDoc(docId);

        doc.onUpdate(state => {
          this.renderDocument(docId, state);
        });

        return doc;
      }

      // Helper methods (implement based on your app)
      private getCurrentUser() {
        return { id: 'user-123', name: 'Alice' };
      }
      private getDeviceId() {
        return 'device-1';
      }
      private getUserRecentDocs(): Promise<string[]> {
        return Promise.resolve(['project-notes', 'todo']);
      }
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      private updateUI(state: any) {
        uiStates.push(state);
      }
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      private renderDocument(docId: string, state: any) {
        rendered.push([docId, state]);
      }
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      private showNotification(notification: any) {
        notifications.push(notification);
      }

      get syncForTest() {
        return this.sync;
      }
    }

    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    cleanups.push(() => log.mockRestore());

    // Usage
    const app = new CollaborativeApp();
    await app.initialize();

    const doc = await app.openDocument('project-notes');
    doc.change(draft => {
      draft.title = 'Updated Project Notes';
      draft.sections = [];
    });
    doc.change(draft => {
      draft.title = 'Updated Project Notes';
      draft.sections.push({
        id: 'new-section',
        content: 'This change syncs automatically',
      });
    });

    await docSynced(app.syncForTest, 'project-notes', 2);
    expect(log).toHaveBeenCalledWith('App initialized and syncing');
    expect(notifications).toEqual([]);
    expect(uiStates).toContainEqual({ isOnline: true, isConnected: true, isSyncing: false, syncError: null });
    expect(rendered.at(-1)).toEqual(['project-notes', { title: 'Updated Project Notes', sections: [{ id: 'new-section', content: 'This change syncs automatically' }] }]);
    const seen = await serverView('project-notes');
    expect(seen.state).toEqual(doc.state);
  });
});

describe('seed: Error Handling and Resilience', () => {
  it('should run the reconnect, offline and recovery samples', async () => {
    const { patches, sync } = harness.client();
    const showMessage = jest.fn();
    const refreshAuthToken = jest.fn();
    const app = {
      sync,
      refreshAuthToken,
      listen() {
        // Error Recovery
        this.sync.onError((error, context) => {
          if (error.message.includes('authentication')) {
            this.refreshAuthToken();
            this.sync.disconnect();
            this.sync.connect(); // Reconnect with new token
          }
        });
      },
    };

    // Automatic Reconnection
    sync.onStateChange(state => {
      if (!state.connected && state.online) {
        // PatchesSync is attempting to reconnect
        showMessage('Reconnecting...');
      }
    });

    // Offline Handling
    sync.onStateChange(state => {
      if (!state.online) {
        showMessage('Offline - changes will sync when reconnected');
      } else if (state.connected) {
        showMessage('Back online and syncing');
      }
    });

    app.listen();

    await sync.connect();
    await patches.trackDocs(['resilient']);
    await idle(sync);
    harness.proxy.dropAll();
    await when(sync.state$, s => !s.connected);
    await idle(sync);
    expect(showMessage).toHaveBeenCalledWith('Reconnecting...');
    expect(showMessage).toHaveBeenLastCalledWith('Back online and syncing');
    expect(refreshAuthToken).not.toHaveBeenCalled();
  });

  // The sample looks for "authentication" in the message: an auth refusal's AuthError says it.
  it('should run the error recovery sample on an auth refusal: new token, reconnected', async () => {
    const guarded = await startHarness({ authorizeConnection: connection => (connection.token === 'fresh' ? true : 4401) });
    cleanups.push(() => void guarded.close());
    let token = 'expired';
    const { sync } = guarded.client({ websocket: { tokenProvider: () => token } });
    const app = {
      sync,
      refreshAuthToken: jest.fn(() => {
        token = 'fresh';
      }),
      listen() {
        // Error Recovery
        this.sync.onError((error, context) => {
          if (error.message.includes('authentication')) {
            this.refreshAuthToken();
            this.sync.disconnect();
            this.sync.connect(); // Reconnect with new token
          }
        });
      },
    };
    app.listen();

    const refused = new Promise<Error>(resolve => sync.onError(error => resolve(error)));
    sync.connect().catch(() => undefined); // refused: the sample's handler connects again
    expect((await refused).message).toContain('authentication');
    await when(sync.state$, s => s.connected && s.syncing === null);
    expect(app.refreshAuthToken).toHaveBeenCalledTimes(1);
  });
});
