// A follower away from a busy doc, back: how long until it has caught up on a large history,
// and how many times its socket was dropped on the way. A writer commits CHANGES changes of
// CHANGE_KB each (50 fields replaced in turn, so the doc stays ~50 × CHANGE_KB while its history
// grows) while the follower, synced at rev 10, is disconnected; the follower then connects and
// catches up: with nothing pending it asks for the doc's state if that is smaller than the history
// (our server's catch-up by snapshot), so it takes the doc. With PENDING=1 the follower has an
// edit of its own waiting, so the catch-up is the whole history since its rev, in one reply to its commit. By hand, not in `npm run bench`:
//
//   npm run build && CHANGES=3500 CHANGE_KB=40 node bench/catchUp.js    # ~134 MB of history
//
// The server (file store) runs in a process of its own, as in production: a reply this large
// holds its event loop while it is serialised and compressed.
import { interval } from 'rxjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InMemoryStore, Patches } from '../dist/index.js';
import { PatchesSync } from '../dist/net/index.js';
import { answerParent, forkChild } from './childProcess.js';
import { rpcClient } from './rpcClient.js';
import { now, until } from './waits.js';

const CHANGES = Number(process.env.CHANGES ?? 3500);
const CHANGE_BYTES = Number(process.env.CHANGE_KB ?? 40) * 1000;
const PENDING = process.env.PENDING === '1';
/** Revs the follower has before it goes away. */
const SYNCED = 10;
const FIELDS = 50;
const WAIT_LIMIT_MS = 600_000;

async function serve() {
  const { startServer, FileServerStore } = await import('../dist/server/index.js');
  const directory = mkdtempSync(join(tmpdir(), 'catch-up-'));
  const server = await startServer({ port: 0, store: new FileServerStore({ directory }) });
  answerParent({ port: server.port }, {}, async () => {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });
}

/** Commits changes `from`..`to` of the doc, each replacing one field with CHANGE_BYTES of text. */
async function write(writer, from, to) {
  for (let rev = from; rev <= to; rev++) {
    const value = randomBytes(CHANGE_BYTES / 2).toString('hex');
    const op = { op: rev <= FIELDS ? 'add' : 'replace', path: `/v${rev % FIELDS}`, value };
    await writer.call('commitChanges', ['feed', [{ id: `w${rev}`, ops: [op], rev, baseRev: rev - 1, createdAt: Date.now(), committedAt: 0 }]]);
  }
}

export async function main() {
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve'], { waitLimitMs: WAIT_LIMIT_MS });
  const url = `ws://127.0.0.1:${child.ready.port}`;
  const patches = new Patches({ store: new InMemoryStore() });
  const sync = new PatchesSync(patches, url);
  let opened = 0;
  sync.onStateChange(state => {
    if (state.connected === true) opened++;
  });
  const errors = [];
  sync.onError(error => errors.push(error.message));
  const writer = await rpcClient(url, WAIT_LIMIT_MS);
  try {
    await sync.connect();
    const doc = await patches.openDoc('feed');
    await write(writer, 1, SYNCED);
    await until(interval(20), () => doc.committedRev === SYNCED, 'the follower to sync', WAIT_LIMIT_MS);
    await sync.disconnect();
    if (PENDING) doc.change(draft => void (draft.mine = 1));
    await write(writer, SYNCED + 1, CHANGES);
    const megabytes = ((CHANGES - SYNCED) * CHANGE_BYTES) / 1e6;
    const before = opened;
    const start = now();
    await sync.connect();
    // Polled: the last step (an own edit acknowledged) changes no state a stream would show.
    await until(interval(20), () => doc.committedRev >= CHANGES && !doc.hasPending, 'the follower to catch up', WAIT_LIMIT_MS);
    const seconds = (now() - start) / 1000;
    const connections = opened - before;
    console.log(
      `Caught up on ${megabytes.toFixed(0)} MB of history (${(CHANGES - SYNCED).toLocaleString('en-US')} changes of ${CHANGE_BYTES / 1000} KB${PENDING ? ', an edit of its own pending' : ''}) in ${seconds.toFixed(1)} s, ${connections} connection(s); errors reported: ${errors.length}`,
    );
    return { catchUp: { megabytes, seconds, connections, pending: PENDING } };
  } finally {
    sync.destroy();
    writer.close?.();
    await child.close();
  }
}

if (process.argv[2] === '--serve') await serve();
else if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
