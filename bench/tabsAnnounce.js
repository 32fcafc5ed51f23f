// What a status change costs the tabs of one browser: a leading and a following `SyncTabs` on a
// real `BroadcastChannel` (Node's, which clones every message as a browser's does), the leader's
// `synced` map holding N tracked docs; one doc's entry changes at a time, and the next change is
// made once the follower's own status map (`SyncedDocs`, with its own edits over the leader's
// entries, as `PatchesSync` shows them) has it. Prints ms per change (wall and this process's CPU,
// both tabs' work) for N = 100, 1,000 and 5,000. The leader announces its whole map once, then
// only what changed (src/net/SyncTabs.ts); what is left grows with N through the `synced` map
// itself, a new object of every entry per change, which the script makes as `PatchesSync` would.
//
//   npm run build && node bench/tabsAnnounce.js
import { BehaviorSubject, filter, firstValueFrom } from 'rxjs';
import { InMemoryStore } from '../dist/index.js';
import { OwnEdits } from '../dist/net/OwnEdits.js';
import { SyncTabs } from '../dist/net/SyncTabs.js';
import { SyncedDocs } from '../dist/net/SyncedDocs.js';
import { runWhenStarted } from './runWhenStarted.js';

const CHANGES = 500;
const SIZES = [100, 1_000, 5_000];

/** ms per status change (wall, CPU) until a following tab shows it, with `docs` tracked docs. */
async function perChange(docs) {
  // Node's channels do not keep the process alive on their own: this does while the run waits.
  const keepAlive = setInterval(() => undefined, 1_000);
  const store = new InMemoryStore();
  const name = `tabs-announce-${docs}-${process.pid}`;
  const leader = new SyncTabs(store, { enabled: true, name, leadership$: new BehaviorSubject(true) });
  const follower = new SyncTabs(store, { enabled: true, name, leadership$: new BehaviorSubject(false) });
  // The follower shows the leader's map as PatchesSync does: each entry through its own edits, into
  // its status map (`over`, a second map of them, in builds before 37de04b: for runs alternated with those).
  const docsShown = new SyncedDocs();
  const ownEdits = new OwnEdits();
  const show = (synced) => (ownEdits.shown ? docsShown.put(synced, (id, entry) => ownEdits.shown(id, entry)) : docsShown.put(ownEdits.over(synced)));
  const shown$ = docsShown.synced$;
  const idle = new BehaviorSubject({ online: true, connected: false, syncing: null });
  const following = follower.mirror(idle, docsShown.synced$, (_state, synced) => show(synced));
  let synced = {};
  for (let i = 0; i < docs; i++) synced[`doc-${i}`] = { committedRev: 0, hasPending: false, status: 'synced' };
  const synced$ = new BehaviorSubject(synced);
  const leading = leader.mirror(new BehaviorSubject({ online: true, connected: true, syncing: null }), synced$, () => undefined);
  try {
    await (follower.followingLeader$ ? firstValueFrom(follower.followingLeader$()) : follower.followingLeader()); // a promise in earlier builds
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    for (let rev = 1; rev <= CHANGES; rev++) {
      const id = `doc-${rev % docs}`;
      synced = { ...synced, [id]: { committedRev: rev, hasPending: false, status: 'synced' } };
      synced$.next(synced);
      await firstValueFrom(shown$.pipe(filter(shown => shown[id]?.committedRev === rev)));
    }
    const cpu = process.cpuUsage(cpu0);
    return { docs, msPerChange: (performance.now() - started) / CHANGES, cpuMsPerChange: (cpu.user + cpu.system) / 1000 / CHANGES };
  } finally {
    following.unsubscribe();
    leading.unsubscribe();
    leader.close();
    follower.close();
    clearInterval(keepAlive);
  }
}

export async function main() {
  const rows = [];
  for (const docs of SIZES) rows.push(await perChange(docs));
  console.log(`A status change until a following tab shows it (real BroadcastChannel, ${CHANGES} changes)`);
  console.table(rows.map(r => ({ 'tracked docs': r.docs, 'ms per change': r.msPerChange.toFixed(3), 'CPU ms per change': r.cpuMsPerChange.toFixed(3) })));
  return rows;
}

runWhenStarted(import.meta.url, main);
