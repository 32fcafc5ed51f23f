/**
 * The demo web app (`npm start`): a collaborative board (OT doc) and its settings (LWW doc), in
 * vanilla TypeScript on the callback API of the seed (`onStateChange`, `onSyncedChange`,
 * `onError`, `doc.subscribe`). Documents open from IndexedDB first, so a reload shows the last
 * state before (or without) the server answering; then PatchesSync connects and catches up.
 */
import { IndexedDBStore, NetworkError, Patches, PatchesSync, createId, type PatchesSyncState, type SyncedDoc } from 'patches-rx';
import { boardView } from './boardView.js';
import { BOARD_ID, SETTINGS_ID, type Board, type Settings } from './docs.js';
import { connectionLabels, saveLabel, trackedEntry } from './labels.js';
import { settingsView } from './settingsView.js';

const $ = <T extends HTMLElement>(selector: string): T => document.querySelector<T>(selector)!;

/** Shows an error in the error area, newest first, with a button to dismiss it. */
function showError(text: string): void {
  const item = document.createElement('li');
  const message = document.createElement('span');
  message.textContent = text;
  const dismiss = document.createElement('button');
  dismiss.type = 'button';
  dismiss.textContent = 'Dismiss';
  dismiss.addEventListener('click', () => item.remove());
  item.append(message, dismiss);
  $('#errors').prepend(item);
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
window.addEventListener('error', event => showError(`Unexpected error: ${describe(event.error ?? event.message)}`));
window.addEventListener('unhandledrejection', event => showError(`Unexpected error: ${describe(event.reason)}`));

/**
 * One IndexedDB database per tab (its id kept in sessionStorage, so it survives a reload), only
 * so that each tab shows as a separate user of the board. Tabs sharing a database would be
 * coordinated, one leading the sync for all (README, Several tabs).
 */
function tabDatabase(): string {
  const key = 'patches-rx-demo-tab';
  const id = sessionStorage.getItem(key) ?? createId();
  sessionStorage.setItem(key, id);
  return `patches-rx-demo-${id}`;
}

async function main(): Promise<void> {
  const database = tabDatabase();
  const patches = new Patches({ store: new IndexedDBStore(database), metadata: { user: { id: database } } });
  const sync = new PatchesSync(patches, `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`);
  const offline = $<HTMLInputElement>('#work-offline');

  // PatchesSync reports the store's errors (Patches.onError) too: one listener sees everything.
  sync.onError((error, context) => {
    // An unreachable server is connection state (shown in the indicator and retried), not a fault.
    if (error instanceof NetworkError && !context?.docId) return;
    showError(`${context?.docId ?? 'server'}: ${describe(error)}`);
  });

  const renderConnection = (state: PatchesSyncState): void => {
    const labels = connectionLabels(state, offline.checked);
    for (const [fact, label] of Object.entries(labels)) {
      const badge = $(`#connection .${fact}`);
      badge.textContent = label;
      badge.dataset.state = label;
    }
  };

  const [board, settings] = await Promise.all([patches.openDoc<Board>(BOARD_ID), patches.openDoc<Settings>(SETTINGS_ID, { algorithm: 'lww' })]);
  const renderSaves = (synced: Readonly<Record<string, SyncedDoc>>): void => {
    for (const [doc, element] of [
      [board, $('#save-board')],
      [settings, $('#save-settings')],
    ] as const) {
      const label = saveLabel(synced[doc.id] ?? trackedEntry(doc));
      element.textContent = label;
      element.dataset.state = label;
    }
  };
  board.subscribe(boardView($('#board'), board));
  settings.subscribe(settingsView($('#settings'), settings));
  renderSaves(sync.synced);
  sync.onSyncedChange(renderSaves);
  // Before PatchesSync has an entry for a doc, its indicator follows the doc itself.
  board.onUpdate(() => renderSaves(sync.synced));
  settings.onUpdate(() => renderSaves(sync.synced));
  renderConnection(sync.state);
  sync.onStateChange(renderConnection);
  // Rendered from IndexedDB: nothing so far waited for the server.
  document.body.dataset.loaded = 'true';

  // connect() keeps retrying in the background after a failed first attempt (reported above).
  const connect = (): void => void sync.connect().catch(() => undefined);
  offline.addEventListener('change', () => {
    if (offline.checked) sync.disconnect();
    else connect();
    renderConnection(sync.state);
  });
  connect();
}

/** A service worker keeps the page itself loadable while the server is down. */
async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  document.body.dataset.offlineReady = 'true';
}

main().catch(error => showError(`The app could not start: ${describe(error)}`));
registerServiceWorker().catch(error => showError(`Offline support is unavailable: ${describe(error)}`));
