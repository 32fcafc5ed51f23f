/**
 * The page of the several-tabs acceptance spec: every tab of one browser context runs this on the
 * BUILT package, exactly as the README shows it (`IndexedDBStore` + `Patches` + `PatchesSync`),
 * with one OT and one LWW doc. `window.tabs` lets the spec drive it with `page.evaluate`.
 */
import { IndexedDBStore, Patches, PatchesSync, type PatchesDoc } from 'patches-rx';
import { concatMap, filter, firstValueFrom, from, merge } from 'rxjs';

/** The OT doc: tokens in a list. The LWW doc: one key per token. */
export interface TabsDoc {
  list?: string[];
  pad?: Record<string, { title: string; n: number }>;
  marks?: Record<string, number>;
}

/** Everything the spec asserts on. */
export interface TabSnapshot {
  ot: TabsDoc;
  lww: TabsDoc;
  otRev: number;
  lwwRev: number;
  hasPending: boolean;
  /** Pending data in IndexedDB (OT changes, LWW ops and in-flight change). */
  storedPending: number;
  leading: boolean;
  connected: boolean;
  errors: string[];
}

/** The API on `window.tabs`. */
export interface TabsApp {
  start(url: string): Promise<void>;
  /** Edits both docs with one token; resolves once both edits are in IndexedDB, with when the edit was made (epoch ms, sub-ms precision). */
  edit(token: string, at: number): Promise<number>;
  /** Adds `records` records to the OT doc in one edit (a large document for benches); resolves once stored. */
  pad(records: number): Promise<void>;
  /** Sync on or off in this tab (`connect()` / `disconnect()`). */
  setSync(on: boolean): Promise<void>;
  /** Resolves once this tab leads (holds the connection for every tab). */
  whenLeading(): Promise<void>;
  /** Resolves once this tab's `state.connected` is `on`. */
  whenConnected(on: boolean): Promise<void>;
  /** Resolves when the store and this tab's views hold nothing pending and both docs are at least at these revs. */
  whenSettled(otRev: number, lwwRev: number): Promise<TabSnapshot>;
  /** Resolves when this tab's OT doc shows `token` (another tab edits it), with when (epoch ms, sub-ms precision). */
  whenSeen(token: string): Promise<number>;
  /** Resolves when this tab's LWW doc shows the mark of `token`. */
  whenMarked(token: string): Promise<void>;
  snapshot(): Promise<TabSnapshot>;
  /** The page lifecycle events this page saw since it loaded (`freeze`, `resume`, `pagehide persisted`, `pageshow persisted`…), in order. */
  lifecycle(): string[];
}

declare global {
  interface Window {
    tabs: TabsApp;
  }
}

interface Running {
  store: IndexedDBStore;
  patches: Patches;
  sync: PatchesSync;
  ot: PatchesDoc<TabsDoc>;
  lww: PatchesDoc<TabsDoc>;
  leading: boolean;
}

let running: Running | undefined;

/** A clock every tab of the origin shares (epoch ms with sub-ms precision). */
function now(): number {
  return performance.timeOrigin + performance.now();
}
const errors: string[] = [];
const lifecycle: string[] = [];
document.addEventListener('freeze', () => lifecycle.push('freeze'));
document.addEventListener('resume', () => lifecycle.push('resume'));
addEventListener('pagehide', event => lifecycle.push(`pagehide${event.persisted ? ' persisted' : ''}`));
addEventListener('pageshow', event => lifecycle.push(`pageshow${event.persisted ? ' persisted' : ''}`));

function current(): Running {
  if (!running) throw new Error('tabs.start() was not called');
  return running;
}

async function snapshot(): Promise<TabSnapshot> {
  const { store, sync, ot, lww, leading } = current();
  const [pending, ops, sending] = await Promise.all([store.getPendingChanges('ot'), store.getPendingOps('lww-doc'), store.getSendingChange('lww-doc')]);
  return {
    ot: ot.state,
    lww: lww.state,
    otRev: ot.committedRev,
    lwwRev: lww.committedRev,
    hasPending: ot.hasPending || lww.hasPending,
    storedPending: pending.length + ops.length + (sending ? 1 : 0),
    leading,
    connected: sync.state.connected,
    errors: [...errors],
  };
}

window.tabs = {
  async start(url) {
    const store = new IndexedDBStore('tabs');
    const patches = new Patches({ store });
    const sync = new PatchesSync(patches, url);
    patches.onError(error => errors.push(`${error.name}: ${error.message}`));
    sync.onError(error => errors.push(`${error.name}: ${error.message}`));
    const ot = await patches.openDoc<TabsDoc>('ot');
    const lww = await patches.openDoc<TabsDoc>('lww-doc', { algorithm: 'lww' });
    running = { store, patches, sync, ot, lww, leading: false };
    sync.leading$.subscribe(leading => (current().leading = leading));
    await sync.connect();
  },
  async edit(token, at) {
    const { ot, lww } = current();
    const made = now();
    ot.change(draft => {
      const list = (draft.list ??= []);
      list.splice(at % (list.length + 1), 0, token);
    });
    lww.change(draft => {
      (draft.marks ??= {})[token] = at;
    });
    await Promise.all([ot.flush(), lww.flush()]);
    return made;
  },
  async pad(records) {
    const { ot } = current();
    ot.change(draft => {
      draft.pad = Object.fromEntries(Array.from({ length: records }, (_, i) => [`r${i}`, { title: `Record number ${i} with some text`, n: i }]));
    });
    await ot.flush();
  },
  async setSync(on) {
    const { sync } = current();
    if (on) await sync.connect();
    else sync.disconnect();
  },
  async whenLeading() {
    await firstValueFrom(current().sync.leading$.pipe(filter(Boolean)));
  },
  async whenConnected(on) {
    await firstValueFrom(current().sync.state$.pipe(filter(state => state.connected === on)));
  },
  async whenSettled(otRev, lwwRev) {
    const { patches, sync, ot, lww } = current();
    const events$ = merge(ot.state$, lww.state$, patches.otherWrites$, sync.synced$);
    return firstValueFrom(
      events$.pipe(
        concatMap(() => from(snapshot())),
        filter(s => s.otRev >= otRev && s.lwwRev >= lwwRev && !s.hasPending && s.storedPending === 0),
      ),
    );
  },
  async whenSeen(token) {
    const { ot } = current();
    await firstValueFrom(ot.state$.pipe(filter(state => state.list?.includes(token) ?? false)));
    return now();
  },
  async whenMarked(token) {
    const { lww } = current();
    await firstValueFrom(lww.state$.pipe(filter(state => state.marks?.[token] !== undefined)));
  },
  snapshot,
  lifecycle: () => [...lifecycle],
};
