import { filter, firstValueFrom, type Observable } from 'rxjs';
import { Patches } from '../../src/client/Patches.js';
import { PatchesSync, type PatchesSyncOptions } from '../../src/net/PatchesSync.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server/index.js';
import type { Change, PatchesSyncState, SyncedDoc } from '../../src/types.js';
import { startFaultProxy, type FaultProxy } from './faultProxy.js';

/** A client of the harness: its Patches, its PatchesSync, and every error it reported. */
export interface TestClient {
  patches: Patches;
  sync: PatchesSync;
  errors: Error[];
}

/** A reference server on loopback plus the clients made against it; `close()` tears everything down. */
export interface SyncHarness {
  server: RunningServer;
  /** Every client connects through this proxy, so a test can cut its connections. */
  proxy: FaultProxy;
  clients: TestClient[];
  client(options?: PatchesSyncOptions & { store?: PatchesStore; metadata?: Record<string, unknown>; clock?: () => number }): TestClient;
  /** A client as `client` makes it, once its `connect()` resolved. */
  connected(options?: Parameters<SyncHarness['client']>[0]): Promise<TestClient>;
  close(): Promise<void>;
}

/** Starts a real server on 127.0.0.1 (port 0) for integration specs. */
export async function startHarness(options: StartServerOptions = {}): Promise<SyncHarness> {
  const server = await startServer({ port: 0, ...options });
  const proxy = await startFaultProxy(server.port);
  const clients: TestClient[] = [];
  const harness: SyncHarness = {
    server,
    proxy,
    clients,
    client({ store, metadata, clock, ...syncOptions } = {}) {
      const patches = new Patches({ store: store ?? new InMemoryStore(), metadata, clock });
      const sync = new PatchesSync(patches, proxy.url, { reconnectDelay: 20, maxReconnectDelay: 200, ...syncOptions });
      const errors: Error[] = [];
      sync.onError(error => errors.push(error));
      const client = { patches, sync, errors };
      clients.push(client);
      return client;
    },
    async connected(options = {}) {
      const client = harness.client(options);
      await client.sync.connect();
      return client;
    },
    async close() {
      for (const { sync } of clients) sync.destroy();
      await proxy.close();
      await server.close();
    },
  };
  return harness;
}

/** The whole history of `docId` on the server, read through `client`'s connection. */
export function serverHistory(client: TestClient, docId: string): Promise<Change[]> {
  return firstValueFrom(client.sync.call<Change[]>('getChangesSince', docId, 0));
}

/** Resolves with the first value of `source$` that satisfies `predicate`. */
export function when<T>(source$: Observable<T>, predicate: (value: T) => boolean): Promise<T> {
  return firstValueFrom(source$.pipe(filter(predicate)));
}

/** Resolves once the sync is connected and idle (a pass finished). */
export function idle(sync: PatchesSync): Promise<PatchesSyncState> {
  return when(sync.state$, s => s.connected && s.syncing === null);
}

/** Resolves once a doc's entry says it is synced with nothing pending (and at least `rev`). */
export function docSynced(sync: PatchesSync, docId: string, rev = 0): Promise<Readonly<Record<string, SyncedDoc>>> {
  return when(sync.synced$, synced => {
    const entry = synced[docId];
    return !!entry && entry.status === 'synced' && !entry.hasPending && entry.committedRev >= rev;
  });
}
