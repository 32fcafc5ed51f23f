/**
 * The page of the browser acceptance spec: a tiny notes app on the BUILT package (`dist/`, bundled
 * by esbuild as `patches-rx`), with an IndexedDBStore, one OT doc and a PatchesSync. It renders
 * the doc and the sync state, and exposes `window.app` for the spec to drive with `page.evaluate`.
 */
import { IndexedDBStore, Patches, PatchesSync, StoreLostError, type Algorithm, type PatchesDoc } from 'patches-rx';
import { filter, firstValueFrom, merge } from 'rxjs';

/** The document the page edits. */
export interface NotesDoc {
  title?: string;
  color?: string;
  items?: string[];
}

/** What `start` needs. */
export interface StartOptions {
  /** The server, e.g. `ws://127.0.0.1:1234`. */
  url: string;
  /** The IndexedDB database name. */
  dbName: string;
  /** The doc to open. */
  docId: string;
  /** Its algorithm (default `'ot'`). */
  algorithm?: Algorithm;
  /** Connect now (default true); with false the doc is opened from the store only. */
  connect?: boolean;
}

/** Everything the spec asserts on, read in one go. */
export interface PageSnapshot {
  /** The doc as the page shows it (committed + pending). */
  state: NotesDoc;
  committedRev: number;
  /** OT: ids of the pending changes, read from IndexedDB. */
  pendingIds: string[];
  /** LWW: paths of the pending ops, read from IndexedDB. */
  pendingPaths: string[];
  /** LWW: id of the change in flight, read from IndexedDB. */
  sendingId: string | null;
  online: boolean;
  connected: boolean;
  /** Every error PatchesSync or Patches reported, as `name: message`. */
  errors: string[];
}

/** What the page shows and what its sync reported, read without the store (which may refuse every call: `StoreLostError`). */
export interface PageView {
  state: NotesDoc;
  hasPending: boolean;
  connected: boolean;
  /** `sync.state.syncing`: the error's name, or the value. */
  syncing: string | null;
  /** Every error `sync.onError` reported: its name, message and its cause's name; a `StoreLostError`'s unsent changes as the listener saw them. */
  syncErrors: Array<{ name: string; message: string; cause?: string; unsentChanges?: UnsentChanges }>;
  /** The unsent changes of the `StoreLostError` in `sync.state.syncing`, read now. */
  unsentChanges?: UnsentChanges;
}

/** A `StoreLostError`'s `unsentChanges`, as plain data: doc id → each change's id and ops. */
export type UnsentChanges = Record<string, Array<{ id: string; ops: unknown[] }>>;

/** The API on `window.app`. */
export interface PageApp {
  /** Opens the store and the doc; connects unless `connect: false`. Resolves once the doc is open (and, if connecting, synced). */
  start(options: StartOptions): Promise<PageSnapshot>;
  /** Connects and resolves once the doc is synced with nothing pending. */
  connect(): Promise<PageSnapshot>;
  /** Appends an item; resolves once the change is in IndexedDB (or was refused and rolled back). */
  addItem(text: string): Promise<void>;
  /** Sets a text field; resolves once the change is in IndexedDB. */
  set(field: 'title' | 'color', value: string): Promise<void>;
  /** Resolves once connected, with the doc synced and nothing pending. */
  whenSynced(): Promise<PageSnapshot>;
  /** Resolves once the browser reports offline and the socket is closed. */
  whenOffline(): Promise<PageSnapshot>;
  snapshot(): Promise<PageSnapshot>;
  view(): PageView;
}

declare global {
  interface Window {
    app: PageApp;
  }
}

interface Running {
  store: IndexedDBStore;
  patches: Patches;
  sync: PatchesSync;
  doc: PatchesDoc<NotesDoc>;
}

let running: Running | undefined;
const errors: string[] = [];
const syncErrors: PageView['syncErrors'] = [];

function current(): Running {
  if (!running) throw new Error('app.start() was not called');
  return running;
}

function unsentOf(error: StoreLostError): UnsentChanges {
  return Object.fromEntries([...error.unsentChanges].map(([docId, changes]) => [docId, changes.map(change => ({ id: change.id, ops: change.ops }))]));
}

async function snapshot(): Promise<PageSnapshot> {
  const { store, sync, doc } = current();
  const [pending, pendingOps, sending] = await Promise.all([store.getPendingChanges(doc.id), store.getPendingOps(doc.id), store.getSendingChange(doc.id)]);
  return {
    state: doc.state,
    committedRev: doc.committedRev,
    pendingIds: pending.map(change => change.id),
    pendingPaths: pendingOps.map(op => op.path).sort(),
    sendingId: sending?.id ?? null,
    online: sync.state.online,
    connected: sync.state.connected,
    errors: [...errors],
  };
}

function render(): void {
  const { sync, doc } = current();
  const { online, connected, syncing } = sync.state;
  const entry = sync.synced[doc.id];
  const title = document.getElementById('title')!;
  const status = document.getElementById('status')!;
  const items = document.getElementById('items')!;
  title.textContent = doc.state.title ?? '(untitled)';
  title.style.color = doc.state.color ?? '';
  status.textContent =
    `${online ? 'online' : 'OFFLINE'} · ${connected ? 'connected' : 'disconnected'}` +
    (syncing instanceof Error ? ` · sync error: ${syncing.message}` : syncing ? ` · syncing (${syncing})` : '') +
    ` · ${doc.algorithm} doc ${doc.id}: rev ${doc.committedRev}, ${entry?.status ?? 'untracked'}${doc.hasPending ? ', pending changes' : ''}`;
  status.className = online ? '' : 'offline';
  items.replaceChildren(
    ...(doc.state.items ?? []).map(text => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }),
  );
  document.getElementById('json')!.textContent = JSON.stringify(doc.state, null, 2);
}

async function whenSynced(): Promise<PageSnapshot> {
  const { sync, doc } = current();
  // After flush() the change is in the store and PatchesSync has marked the doc pending.
  await doc.flush();
  await firstValueFrom(
    sync.synced$.pipe(filter(synced => sync.state.connected && synced[doc.id]?.status === 'synced' && !synced[doc.id].hasPending)),
  );
  return snapshot();
}

async function edit(mutate: (draft: NotesDoc) => void): Promise<void> {
  const { doc } = current();
  doc.change(mutate);
  await doc.flush();
}

window.app = {
  async start({ url, dbName, docId, algorithm, connect = true }) {
    if (running) throw new Error('app.start() was already called');
    const store = new IndexedDBStore(dbName);
    const patches = new Patches({ store, metadata: { user: { id: 'browser' } } });
    const sync = new PatchesSync(patches, url);
    patches.onError(error => errors.push(`${error.name}: ${error.message}`));
    sync.onError(error => {
      errors.push(`${error.name}: ${error.message}`);
      syncErrors.push({
        name: error.name,
        message: error.message,
        ...(error.cause instanceof Error ? { cause: error.cause.name } : {}),
        ...(error instanceof StoreLostError ? { unsentChanges: unsentOf(error) } : {}),
      });
    });
    const doc = await patches.openDoc<NotesDoc>(docId, { algorithm });
    running = { store, patches, sync, doc };
    merge(doc.state$, sync.state$, sync.synced$).subscribe(render);
    return connect ? window.app.connect() : snapshot();
  },
  async connect() {
    await current().sync.connect();
    return whenSynced();
  },
  addItem: text =>
    edit(draft => {
      (draft.items ??= []).push(text);
    }),
  set: (field, value) =>
    edit(draft => {
      draft[field] = value;
    }),
  whenSynced,
  async whenOffline() {
    const { sync } = current();
    await firstValueFrom(sync.state$.pipe(filter(state => !state.online && !state.connected)));
    return snapshot();
  },
  snapshot,
  view() {
    const { sync, doc } = current();
    const { connected, syncing } = sync.state;
    const view: PageView = { state: doc.state, hasPending: doc.hasPending, connected, syncing: syncing instanceof Error ? syncing.name : syncing, syncErrors: [...syncErrors] };
    return syncing instanceof StoreLostError ? { ...view, unsentChanges: unsentOf(syncing) } : view;
  },
};
