import { Observable, of, share } from 'rxjs';
import type { StoreChange } from '../stores/PatchesStore.js';

/** The part of a `BroadcastChannel` that `storeChanges$` and a store need (a fake in tests). */
export interface StoreChannel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

/**
 * The channel name a store on database `dbName` announces its writes on: every store on the
 * same database (every tab of an origin, every instance in one process) uses the same name.
 *
 * @example
 * storeChannelName('my-app'); // 'patches-rx:store:my-app'
 */
export function storeChannelName(dbName: string): string {
  return `patches-rx:store:${dbName}`;
}

/**
 * Opens the `BroadcastChannel` of a database, or `undefined` where there is none. In Node the
 * channel is unreferenced so an idle store never keeps the process alive.
 *
 * @example
 * const channel = openStoreChannel('my-app');
 */
export function openStoreChannel(dbName: string): StoreChannel | undefined {
  const Ctor = (globalThis as { BroadcastChannel?: new (name: string) => StoreChannel & { unref?: () => void } }).BroadcastChannel;
  if (!Ctor) return undefined;
  const channel = new Ctor(storeChannelName(dbName));
  channel.unref?.();
  return channel;
}

/**
 * What other instances on the same database wrote, as announced on its channel.
 *
 * A tab that edits a doc writes the shared store and posts a `StoreChange`; every other tab's
 * store emits it here so open docs, `synced` and `hasPending` follow within milliseconds. A
 * channel never delivers a message to the object that posted it, so a store hears only the
 * others. Malformed messages are ignored.
 *
 * While `away$` says the page is away (frozen, or in the back/forward cache: `pageAway$`) the
 * changes are held, and emitted in order once it is back (a run of writes as one write of all
 * their docs: each tells its readers to read those docs again). Chromium runs a frozen page's
 * `BroadcastChannel` handlers, but not the IndexedDB callbacks of the reads they start: such a
 * read held its locks until the page resumed, and with them every other tab's next write to the
 * database (found with a real frozen tab, `spec/e2e/frozenTab.spec.ts`).
 *
 * ## Example
 * ```ts
 * storeChanges$(openStoreChannel('my-app')!, pageAway$()).subscribe(change => console.log(change.kind, change.docIds));
 * ```
 *
 * @param channel The database's channel (see `openStoreChannel`).
 * @param away$ Whether the page is away (default: never).
 * @return An Observable of the announced changes; it never completes by itself.
 */
export function storeChanges$(channel: StoreChannel, away$: Observable<boolean> = of(false)): Observable<StoreChange> {
  return new Observable<StoreChange>(subscriber => {
    let away = false;
    // Each held change with its doc ids as a set: a run of writes adds to the last one's.
    let held: Array<{ change: StoreChange; docIds: Set<string> }> = [];
    const hold = (change: StoreChange) => {
      const last = held.at(-1);
      if (change.kind === 'write' && last?.change.kind === 'write') for (const docId of change.docIds) last.docIds.add(docId);
      else held.push({ change, docIds: new Set(change.docIds) });
    };
    const lifecycle = away$.subscribe(isAway => {
      away = isAway;
      if (away) return;
      const release = held;
      held = [];
      for (const { change, docIds } of release) subscriber.next({ ...change, docIds: [...docIds] });
    });
    const listener = (event: { data: unknown }) => {
      if (!isStoreChange(event.data)) return;
      if (away) hold(event.data);
      else subscriber.next(event.data);
    };
    channel.addEventListener('message', listener);
    return () => {
      lifecycle.unsubscribe();
      channel.removeEventListener('message', listener);
    };
  }).pipe(share());
}

function isStoreChange(data: unknown): data is StoreChange {
  if (typeof data !== 'object' || data === null) return false;
  const { kind, docIds } = data as Partial<StoreChange>;
  return (kind === 'track' || kind === 'untrack' || kind === 'delete' || kind === 'write') && Array.isArray(docIds) && docIds.every(id => typeof id === 'string');
}
