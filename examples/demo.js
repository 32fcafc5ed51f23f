// The main job: the reference server on loopback and two clients (Alice and Bob) editing the same
// OT and LWW documents concurrently; Bob drops offline for a while and edits, then comes back.
// Prints every state$ transition and the converged documents. Run with `npm run demo:node`.
import { BehaviorSubject, filter, firstValueFrom } from 'rxjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryStore, Patches, PatchesSync } from '../dist/index.js';
import { startServer } from '../dist/server/index.js';

const OT_DOC = 'notes';
const LWW_DOC = 'lww-settings';

const dataDir = mkdtempSync(join(tmpdir(), 'patches-rx-demo-'));
const server = await startServer({ port: 0, dataDir });
console.log(`reference server listening on ${server.url} (durable store in ${dataDir})\n`);

function client(name) {
  const online$ = new BehaviorSubject(true);
  const patches = new Patches({ store: new InMemoryStore(), metadata: { user: name } });
  const sync = new PatchesSync(patches, server.url, { online$ });
  sync.onStateChange(state => {
    const syncing = state.syncing instanceof Error ? `Error(${state.syncing.message})` : String(state.syncing);
    console.log(`${name.padEnd(5)} state  online=${state.online} connected=${state.connected} syncing=${syncing}`);
  });
  sync.onError((error, context) => console.log(`${name.padEnd(5)} error  ${error.name}: ${error.message}${context?.docId ? ` (${context.docId})` : ''}`));
  return { name, patches, sync, online$ };
}

/** Resolves when every change so far is stored and every tracked doc of every client is synced with nothing pending. */
async function settled(clients) {
  await Promise.all(clients.flatMap(({ patches }) => [...patches.trackedDocs].map(id => patches.getOpenDoc(id)?.flush())));
  return Promise.all(
    clients.map(({ sync }) =>
      firstValueFrom(
        sync.synced$.pipe(filter(synced => Object.values(synced).length > 0 && Object.values(synced).every(d => d.status === 'synced' && !d.hasPending))),
      ),
    ),
  );
}

const alice = client('alice');
const bob = client('bob');
await Promise.all([alice.sync.connect(), bob.sync.connect()]);

const [aliceNotes, bobNotes] = await Promise.all([alice.patches.openDoc(OT_DOC), bob.patches.openDoc(OT_DOC)]);
const [aliceSettings, bobSettings] = await Promise.all([
  alice.patches.openDoc(LWW_DOC, { algorithm: 'lww' }),
  bob.patches.openDoc(LWW_DOC, { algorithm: 'lww' }),
]);

console.log('\n— concurrent edits —');
aliceNotes.change(draft => {
  draft.title = 'Shopping';
  draft.items = ['milk'];
});
await settled([alice, bob]);
aliceNotes.change(draft => {
  draft.items.push('eggs');
});
bobNotes.change(draft => {
  draft.items.unshift('bread');
});
aliceSettings.change(draft => {
  draft.theme = 'dark';
  draft.fontSize = 14;
});
bobSettings.change(draft => {
  draft.fontSize = 16;
});
await settled([alice, bob]);

console.log('\n— bob goes offline and keeps editing —');
bob.online$.next(false);
bobNotes.change(draft => {
  draft.items.push('butter');
  draft.title = 'Shopping list';
});
bobSettings.change(draft => {
  draft.language = 'fr';
});
aliceNotes.change(draft => {
  draft.items.push('jam');
});
await settled([alice]);

console.log('\n— bob comes back online —');
bob.online$.next(true);
await settled([alice, bob]);

console.log('\n— converged —');
for (const [label, a, b] of [
  [OT_DOC + ' (ot)', aliceNotes, bobNotes],
  [LWW_DOC + ' (lww)', aliceSettings, bobSettings],
]) {
  const same = JSON.stringify(a.state) === JSON.stringify(b.state);
  console.log(`${label.padEnd(20)} alice=${JSON.stringify(a.state)}`);
  console.log(`${''.padEnd(20)} bob  =${JSON.stringify(b.state)}  ${same ? 'identical' : 'DIFFERENT'}`);
  if (!same) process.exitCode = 1;
}

alice.sync.destroy();
bob.sync.destroy();
await server.close();
rmSync(dataDir, { recursive: true, force: true });
