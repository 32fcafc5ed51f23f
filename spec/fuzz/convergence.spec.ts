import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFailure, modeFlags, runConvergence, type FuzzMode, type FuzzStores } from './convergence.js';

/**
 * The convergence fuzz (protocol §6 "Convergence"): 5 real clients behind chaos proxies on the
 * real server, every fault type, strict oracle. CI runs the seed list below at a small size;
 * `npm run fuzz` (cli.js) runs the same spec at full size through environment variables:
 * FUZZ_SEED=<n>[,<n>…] replays seeds, FUZZ_SEEDS=<count> runs seeds FUZZ_FIRST_SEED.. (default 1),
 * FUZZ_STEPS and FUZZ_CLIENTS set the size, FUZZ_STUCK_MS the liveness bound, FUZZ_VERBOSE=1 prints
 * one line per seed, FUZZ_STORES=memory|idb|shared-idb|tabs runs only that store mode, FUZZ_SLOW_STORE=1 makes every store
 * call wait 0–3 ms first (`slowStore`), FUZZ_EDITS=extended adds the extended edits (`edits`),
 * FUZZ_BIG=1 big edits under small budgets (`big`), FUZZ_SERVER_ERRORS=<rate> server error
 * replies (`serverErrors`), FUZZ_STORE_FAULTS=<rate> store faults (`storeFaults`). Any of the
 * last five applies to every run; without them (and without seeds) CI also runs the modes' own
 * seed lists below.
 *
 * FUZZ FINDINGS (minimal reproductions in fuzzFindings.spec.ts, each now a pinned regression):
 * - A. LWW ops minted while an LWW commit awaited its answer stayed unsent after a reconnect
 *   (no follow-up pass) — fixed in c0135fe.
 * - B. a repeated `online$` true replaced the socket silently (no full pass) — 122fd94/c0135fe.
 * - C. an OT doc edited before its first load looped commit ⇄ getDoc forever — f6b928a.
 * - D. a request reaching a gracefully closing server (restart) got 503 SERVER_CLOSING, which
 *   was reported to onError at once — 503 and timeouts are now 'transient': retried quietly (4995cba).
 * - E. a losing LWW child write wiped newer rows under the removed parent — c0135fe.
 * - F. the tail of a never-loaded OT head whose answer was lost was committed verbatim (400 on
 *   every retry) — the server now walks a partly committed baseRev-0 resend normally (a42011e).
 * - G. push-then-edit against a concurrent push: `add /list/-` then `/list/N/v` named the other
 *   client's element — fixed by concrete indexes (3f08392) under our former transform; reopened
 *   by issue 10 (the reference's rules win, and under them no recording of a push fixes it): an
 *   `it.failing` case now. The server drops what no longer applies, so replicas still converge.
 *
 * OT edits: immer-recorded ones (inserts at random indexes included) and raw changes a bare
 * writer sends straight to the server (moves, copies, inserts), as a @dabble/patches client may.
 * - H. (idb mode; one tab is enough) an OT edit made while a server batch was being written to the
 *   store fell out of the view, so the next edits were written on a wrong view and refused (400) —
 *   late edits are now rebased too (spec/client/OTAlgorithm.spec.ts, "finding H").
 * - I. (shared-idb mode) a tab applied its own LWW change again from a late reply after another tab
 *   had applied it and a later rev, undoing that rev — skipped now when the store's history holds
 *   it (spec/client/LWWAlgorithm.spec.ts, "finding I").
 * - J. (idb mode, where store writes are slow; seed 5 about 1 run in 4) a doc stayed
 *   { status: 'synced', hasPending: true } with nothing in its store: a sync run ended while an
 *   edit was still unsaved, a server batch then rebased the edit away, and its save wrote and
 *   announced nothing — `Patches.savedNothing$` now makes PatchesSync re-read the doc ("J").
 * - K. (tabs mode; seeds 3 and 4 in most runs) a following client stayed { connected: false,
 *   syncing: 'socket hang up' } for good: its mirror re-made the leader's announced error on every
 *   pass, and showing it fed its own state$ back into the mirror, a new Error each time, until the
 *   stack overflowed and the mirror died — one mirrored state per announcement now
 *   (spec/net/SyncTabs.spec.ts, "finding K").
 * - L. (seen once each inside a full `npm test` at load average ~10) an LWW view ≠ server head at
 *   the end. shared-idb seed 15: two tabs on one database both sent the change in the store; the
 *   resend's reply (the rows since its baseRev folded into one change at the last rev) came after
 *   the other tab had applied the commit and a newer delete of /f5, and was applied again — an own
 *   reply older than the store's rev is skipped now (spec/client/LWWAlgorithm.spec.ts and
 *   fuzzFindings "L"). tabs seed 14 (a following tab's view at c = 2, its store at 3) was the
 *   check's race: a follower's synced$ is the leader's announcement and runs ahead of its doc's
 *   refresh; the check now waits for the open doc's own committedRev.
 * - M. (tabs mode, only under heavy load: seeds 25, 38, 22 now and then) every client agreed at
 *   server head + 1: the check had read the head with a commit still on its way. A following tab's
 *   synced$ is the leader's announcement, re-shown on every change of its own map, so its own fresh
 *   edit said "nothing pending" again at once, until the leader heard of it through the store's
 *   channel: the calm wait took the tab for quiet, and a save indicator would have lied. A
 *   follower now shows its own edits pending until a store read finds them gone (src/net/OwnEdits.ts;
 *   fuzzFindings "M"), and the calm wait is followed by a stricter check: no store may then hold a
 *   change (loaded, 2 hogs and 2 runs at once: 6 of 30 runs of 22/25/38 failed it before the fix,
 *   0 of 30 after, and 0 of 160 runs of tabs seeds 1–80). 22, 25 and 38 are CI tabs seeds now.
 * - N. (shared-idb seed 8006, once in 15 seeds × 250 steps under load; not again in 27 replays) a
 *   tab stayed { status: 'synced', committedRev: 41 } with rev 42 in its store: it re-read its entry
 *   after another tab's write, applied 42 itself while that read was on its way, and the read landed
 *   last. A store read now puts its answer only if the entry did not change during the read
 *   (`SyncedDocs.changesOf`; `StoredEntries`' reads, `add` and `rev$`): fuzzFindings "N"
 *   and spec/net/StoredEntries.spec.ts pin it. The same session's loops (shared-idb seeds 8000–8011 ×
 *   3, two at once) still failed 8005 now and then: a pass reading several docs checked each doc
 *   when its own reads ended, not when the pass put them all; it checks at the put now
 *   ("N, several docs").
 * - O. (shared-idb seeds 9000 and 9002, tabs seed 9112: the first runs after the script learnt to
 *   untrack docs) two ways a doc untracked by another tab of the same database went wrong: a
 *   write landing after the purge reached onError as a StoreError (the store now says
 *   `DocNotTrackedError`, and PatchesSync ends that doc's sync quietly), and, with the doc tracked
 *   again before the reply to an LWW send was written, the reply landed on the fresh rev-0 doc as
 *   the head rev holding only its own ops (every tab of the database showed { c: 3 } for good):
 *   a reply is taken as ours only while the store still holds its send. fuzzFindings "O" pins both.
 * - P. (memory seed 9502, 2 runs in 3, after the script learnt to delete docs too) a client
 *   untracked a doc and tracked it again while a `getChangesSince` it had sent was on its way; the
 *   changes since the old rev no longer joined the fresh doc (rev 0) and the gap reached onError as
 *   a MissingChangesError (then a refetch repaired it). A pull now pulls again from where the doc
 *   is when the doc went back meanwhile: spec/net/DocSync.spec.ts "pullSince$" pins it (5 replays
 *   passed after). The same runs found two harness bugs, fixed: the wire log threw on a reply
 *   without `result` (a void `deleteDoc`), which swallowed that frame before the client saw it, and
 *   a burst's second edit of a doc being opened found no handle.
 * - Q. (tabs seed 9710) a doc deleted in a following tab stayed on the server: only an instance's
 *   own deleteDoc sent the server delete, and the leading tab, following the store, kept the
 *   tombstone for its next connection's pass. Following another instance's delete now emits
 *   `deleted$` too (the tab holding the connection sends it): fuzzFindings "Q".
 * - R. (found by reading O's fix, then by the script once a client may open an untracked doc
 *   again before the other tabs have followed: 6 of 8 tabs seeds 10200–10207 stuck) a tab that
 *   looked at the store's list only after another tab had untracked a doc and tracked it again
 *   changed nothing: its entry still said the old rev while the database held the fresh, empty
 *   doc, and no pass fetched it until the next connection. Such a doc is now a new doc there too
 *   (untracked$ then tracked$, its sync starting over; an open view stays and reads it whole):
 *   fuzzFindings "R". Then (tabs seed 12206, 1 run in 3, once the raw writer also edited rich
 *   text) the open view of such a doc on the leading tab stayed at the old rev, and its entry,
 *   built from the view, said rev 9 with edits pending: the view is now read whole before the
 *   doc's sync starts over ("R, open view").
 * - S. (a reviewer's variant of server error replies, now `serverErrors`: memory seeds 5 and 32 at
 *   300 steps, rate 0.04) a `subscribe` refused on a socket that stays open was never asked again:
 *   the client heard no other client's change while every doc showed 'synced'. It is asked again
 *   with the docs' backoff now (7f1a6f2; spec/net/ServerSubscriptions.spec.ts, spec/hostile/client.spec.ts).
 * - T. (the same reviewer's store faults, now `storeFaults`: memory seed 220 at 300 steps) a doc
 *   whose status entry could not be read (one failed `getCommittedRev`) stayed out of `synced` for
 *   good: no save indicator for it. It gets its entry on its next edit or sync run now (4bce6c6;
 *   spec/net/PatchesSync.spec.ts, "should give a doc the entry whose read failed").
 * - U. NOT OURS (`--edits extended --big`, memory seed 2206 at 300 steps, 2 runs in 3) a witness with
 *   a numeric-string key in an OT doc was committed under another key: "100022" became "100023".
 *   The transform runs on paths alone (an integer last segment is an array index, as in
 *   @dabble/patches), so a concurrent add or removal of a smaller integer key in the same object
 *   shifts it: `transformPatch([add /100016], [add /100022])` gives `add /100023`, and
 *   `transformPatch([remove /odd/0], [replace /odd/12])` gives `replace /odd/11`. Every replica
 *   agrees, so only a witness shows it. Not a bug of ours: protocol §2.3 states the rule ("avoid
 *   numeric object keys"), and the transform corpus pins it (a mixed fleet must compute the same).
 *   README Known limits says so; OT witnesses no longer take such keys (LWW ones still do).
 * - V. (`--stores shared-idb --store-faults 0.03` under load: seeds 81454 and 81470 beside two
 *   busy loops, 81474, 81477 and 81481 also with `--slow-store`; each passed on a quiet replay) a
 *   read that follows another instance's write and failed was reported and never made again: the
 *   open view's refresh (a failed `listChanges`), which also left `otherWrites$` unsaid, so the
 *   view and its entry stayed at the rev before ("client 2's open lww-1~1 following its store to
 *   rev 5 (at 4)"), or the entry's read after it (a failed `getPendingChanges` or
 *   `getCommittedRev`: "client 3 reaching rev 46 of notes-0", the view at 46, the entry at 45), until
 *   the doc's next write. Both are made again with backoff now, reported once: spec/client/Patches.spec.ts
 *   ("another instance's writes"), spec/net/StoredEntries.spec.ts (`reread$`), spec/net/severalInstances.spec.ts.
 *   Then (81510 with `--slow-store`, on those fixes) a closed doc's rev read after its own sync
 *   applied server changes (`StoredEntries.rev$`) failed: the run's retry found the store at the
 *   server's rev and pulled nothing, so the entry said rev 0 'synced' with the store at 2. Its
 *   entry is read again too (`unread$`): spec/net/PatchesSync.spec.ts.
 */

/** CI size: 5 clients, this many random actions per seed. */
const CI_STEPS = 100;

/**
 * CI seeds (48: about 30 s on 2 cores), including seeds with server restarts and the seeds that
 * found D, F and G. A CI seed that ever fails is a finding, not noise: replay it and report it.
 */
const CI_SEEDS: readonly number[] = [1, 3, 4, 5, 10, 14, 15, 16, 18, 19, 24, 28, 40, 45, 48, 49, 51, 53, 58, 59, 96, 98, 109, 112, 131, 137, 149, 150, 154, 164, 170, 173, 174, 184, 211, 214, 216, 217, 220, 221, 222, 226, 229, 242, 268, 289, 298, 395];

/**
 * CI seeds of the IndexedDB modes (fake-indexeddb): `idb` gives each client its own database,
 * `shared-idb` puts the clients in groups of up to three on one database (tabs of one app), each
 * with its own connection; `tabs` the same groups electing one leader each (the lease of
 * `leadership$`): only the leader connects.
 */
const CI_IDB_SEEDS: readonly number[] = [1, 3, 4, 5, 10, 14, 15, 16];

/** CI seeds of the `tabs` mode: the IndexedDB ones, and those that found M (about 2 s each). */
const CI_TABS_SEEDS: readonly number[] = [...CI_IDB_SEEDS, 22, 25, 38];

/** CI seeds run once more with a slow store (`slowStore`: every store call waits 0–3 ms first), in the `tabs` mode. */
const CI_SLOW_SEEDS: readonly number[] = [1, 3, 4];

/**
 * CI runs of the edit and fault modes (`ConvergenceOptions.edits`, `big`, `serverErrors`,
 * `storeFaults`; the fault rates below): four memory seeds and two of an IndexedDB mode each, and
 * two seeds of all four at once (26 runs: about 20–30 s on 2 cores).
 */
const CI_SERVER_ERRORS = 0.04;
const CI_STORE_FAULTS = 0.03;
const CI_MODE_RUNS: readonly Run[] = [
  ...[1, 3, 4, 5].map(seed => ({ seed, mode: { stores: 'memory', edits: 'extended' } }) as const),
  ...[1, 3].map(seed => ({ seed, mode: { stores: 'shared-idb', edits: 'extended' } }) as const),
  ...[1, 3, 4, 5].map(seed => ({ seed, mode: { stores: 'memory', big: true } }) as const),
  ...[1, 3].map(seed => ({ seed, mode: { stores: 'tabs', big: true } }) as const),
  ...[1, 3, 4, 5].map(seed => ({ seed, mode: { stores: 'memory', serverErrors: CI_SERVER_ERRORS } }) as const),
  ...[1, 3].map(seed => ({ seed, mode: { stores: 'tabs', serverErrors: CI_SERVER_ERRORS } }) as const),
  ...[1, 3, 4, 5].map(seed => ({ seed, mode: { stores: 'memory', storeFaults: CI_STORE_FAULTS } }) as const),
  ...[1, 3].map(seed => ({ seed, mode: { stores: 'idb', storeFaults: CI_STORE_FAULTS } }) as const),
  // All four at once.
  ...[1, 3].map(seed => ({ seed, mode: { stores: 'memory', edits: 'extended', big: true, serverErrors: CI_SERVER_ERRORS, storeFaults: CI_STORE_FAULTS } }) as const),
];

/** One seed in one mode. */
interface Run {
  seed: number;
  mode: FuzzMode & { stores: FuzzStores };
}

const env = process.env;
const int = (name: string): number | undefined => (env[name] !== undefined && env[name] !== '' ? Number.parseInt(env[name]!, 10) : undefined);
const rate = (name: string): number | undefined => (env[name] ? Number.parseFloat(env[name]!) : undefined);

const listed = env.FUZZ_SEED ? env.FUZZ_SEED.split(',').map(seed => Number.parseInt(seed, 10)) : undefined;
const count = int('FUZZ_SEEDS');
const first = int('FUZZ_FIRST_SEED') ?? 1;
const steps = int('FUZZ_STEPS') ?? CI_STEPS;
const clients = int('FUZZ_CLIENTS') ?? 5;
const stuckAfter = int('FUZZ_STUCK_MS') ?? (count === undefined && listed === undefined ? 10_000 : undefined);
const verbose = env.FUZZ_VERBOSE === '1';
/** The modes the environment asks for, on every run. */
const asked: FuzzMode = {
  slowStore: env.FUZZ_SLOW_STORE === '1' || undefined,
  edits: env.FUZZ_EDITS === 'extended' ? 'extended' : undefined,
  big: env.FUZZ_BIG === '1' || undefined,
  serverErrors: rate('FUZZ_SERVER_ERRORS'),
  storeFaults: rate('FUZZ_STORE_FAULTS'),
  maxTransformWork: int('FUZZ_MAX_TRANSFORM_WORK'),
};
const askedAny = Object.values(asked).some(value => value !== undefined);

const chosen = listed ?? (count !== undefined ? Array.from({ length: count }, (_, i) => first + i) : undefined);
const onlyStores = env.FUZZ_STORES as FuzzStores | undefined;
const runs: Run[] = (['memory', 'idb', 'shared-idb', 'tabs'] as const)
  .filter(stores => onlyStores === undefined || stores === onlyStores)
  // Explicit seeds without FUZZ_STORES run in the default mode only.
  .filter(stores => chosen === undefined || onlyStores !== undefined || stores === 'memory')
  .flatMap(stores => (chosen ?? (stores === 'memory' ? CI_SEEDS : stores === 'tabs' ? CI_TABS_SEEDS : CI_IDB_SEEDS)).map(seed => ({ seed, mode: { ...asked, stores } })));
// The CI list (no seeds, no mode asked for): the slow-store and the edit and fault modes' runs too.
if (chosen === undefined && !askedAny) {
  const more: Run[] = [...CI_SLOW_SEEDS.map(seed => ({ seed, mode: { stores: 'tabs', slowStore: true } }) as const), ...CI_MODE_RUNS];
  runs.push(...more.filter(run => onlyStores === undefined || run.mode.stores === onlyStores));
}

/** What a run's counters say it exercised in its modes. */
function modeCounters({ mode }: Run, s: Record<string, number>): string {
  return [
    mode.stores === 'tabs' ? `, ${s.leaderships} leaderships` : '',
    mode.slowStore ? `, ${s.editsDuringWrites} edits while server changes were written (${s.witnessesDuringWrites} witnesses)` : '',
    mode.edits === 'extended' ? `, ${s.extendedEdits} extended edits (cards: ${s.dragsPastPrimitives} drags through list recorded past a number, ${s.dragsOfCopies} drags of a copied card, ${s.twoDragsWrittenByValue} drags of a two-drag change written by value; ${s.cardsWrittenByTwoDrags} cards written by value and ${s.cardsTakenByTwoDrags} taken by such changes in the log; ${s.cardsTakenByListEdits} board cards taken by edits of list)` : '',
    mode.big ? `, ${s.bigEdits} big edits, ${s.splitPieces} pieces cut off queued changes as they were sent` : '',
    mode.serverErrors
      ? `, ${s.serverErrorsInjected} server error replies (${s.serverErrorsBefore} before the server; ${s.serverErrors503}×503, ${s.serverErrors500}×500, ${s.serverErrors32000}×-32000), ${s.serverErrorsReported} reported`
      : '',
    mode.storeFaults ? `, ${s.storeFaultsInjected} store faults, ${s.storeFaultsReported} reported` : '',
    mode.maxTransformWork ? `, ${s.commitsTooFarBehind} commits refused as too far behind (${s.rawTooFarBehind} of the raw writer, dropped)` : '',
  ].join('');
}

describe('convergence fuzz', () => {
  it.each(runs.map(run => [`${[`${run.mode.stores} stores`, modeFlags({ ...run.mode, stores: undefined })].filter(Boolean).join(' ')}, seed ${run.seed}`, run] as const))(
    'should converge: %s',
    async (name, run) => {
      const report = await runConvergence({ seed: run.seed, steps, clients, stuckAfter, ...run.mode });
      if (verbose) {
        const s = report.stats;
        const byClient = report.rebasedAway.filter(r => r.by === 'client').length;
        process.stdout.write(
          `${name}: ${report.failures.length ? 'FAIL' : 'ok'} in ${report.ms} ms — ${s.edits} edits, ${s.rawEdits} raw OT edits (${s.richTextEdits} rich text), ${s.textEdits} typed with editText, ${s.drops} drops, ` +
            `${s.midFrameKills} mid-frame kills, ${s.delayBursts} delay bursts, ${s.offline} offline, ${s.onlineAgain} online-again, ${s.disconnects} disconnect() calls, ` +
            `${s.clientRestarts} client / ${s.serverRestarts} server restarts, ${s.closes} docs closed for a while, ${s.untracks} untracked (${s.untrackDiscarded} changes discarded, ${s.untrackedEditsRefused} edits refused as it was untracked), ${s.deletes} deleted (${s.revives} opened again, ${s.deletesUndone} undone so, ${s.handedOver} changes handed over, LWW ops ${s.lwwOpsHandedOver} of ${s.lwwOpsOnDeleted} handed over, ${s.revivedEditsRefused} edits refused as it was dropped again), ${s.proxyConnections} connections, ${s.commitCalls} commits, ` +
            `${report.rebasedAway.length} rebased away (${byClient} by a client), ${s.witnessesChecked} of ${s.witnesses} witness edits checked${s.witnessesRolledBack ? ` (${s.witnessesRolledBack} rolled back on a store fault and reported)` : ''}, ` +
            `${s.cardEdits} card edits (${s.drags} drags, ${s.dragsAcross} across lists, ${s.dragMoves} recorded as moves (${s.dragsRecordedAsNeighbour} of the neighbour), ${s.twoDragChanges} two in one change, ${s.cardRaces} raced by another client; ${s.cardsAdded} added, ${s.cardTitles} retitled, ${s.cardTexts} typed into, ${s.cardRemoves} removed), ` +
            `${s.movesMinted} moves minted, ${s.cardsChecked} cards checked (${s.cardsReplacedWhole} in a list written whole, ${s.cardsCopied} copied, ${s.cardsReAdded} written again by value; ${s.cardTitlesChecked} titles and ${s.cardEditsChecked} retitles and typings checked; edits strayed to another card: ${s.cardEditsStrayedAdds} after concurrent adds, ${s.cardEditsStrayedDrags} after concurrent drags, ${s.cardEditsStrayedWhole} after a drag into a list written whole)` +
            modeCounters(run, s) +
            `${report.failures.length ? `\n    ${report.failures[0].slice(0, 300)}` : ''}\n`,
        );
      }
      // FUZZ_TRACE=dir: the whole script of a failed run, as dir/<stores>[-<mode flags>]-<seed>.txt.
      if (report.failures.length > 0 && env.FUZZ_TRACE) {
        const file = `${[run.mode.stores, ...modeFlags({ ...run.mode, stores: undefined }).replace(/--/g, '').split(' ')].filter(Boolean).join('-')}-${run.seed}.txt`;
        writeFileSync(join(env.FUZZ_TRACE, file), `${formatFailure(report)}\n\nwhole script:\n${report.trace.join('\n')}\n`);
      }
      if (report.failures.length > 0) throw new Error(formatFailure(report));
    },
    120_000,
  );
});
