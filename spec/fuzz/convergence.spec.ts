import { formatFailure, runConvergence, type Tolerance } from './convergence.js';

/**
 * The convergence fuzz (protocol §6 "Convergence"): 5 real clients behind chaos proxies on the
 * real server, every fault type, strict oracle. CI runs the seed list below at a small size;
 * `npm run fuzz` (cli.js) runs the same spec at full size through environment variables:
 * FUZZ_SEED=<n>[,<n>…] replays seeds, FUZZ_SEEDS=<count> runs seeds FUZZ_FIRST_SEED.. (default 1),
 * FUZZ_STEPS and FUZZ_CLIENTS set the size, FUZZ_STUCK_MS the liveness bound, FUZZ_TOLERATE a
 * comma list of open bugs to count instead of fail (exploration only), FUZZ_VERBOSE=1 prints one
 * line per seed.
 *
 * FUZZ FINDINGS (minimal reproductions in fuzzFindings.spec.ts, except D, a policy question):
 * Open
 * - D. SERVER_CLOSING reaches onError: a request that reaches the server while it closes
 *   gracefully (a server restart) is answered 503 `{ scope: 'server' }`; src/net/errorPolicy.ts
 *   classifies it 'retry' and PatchesSync reports it to onError at once (protocol §5.3 reports
 *   a retryable error only when the retry ladder is exhausted). The fuzz fails on every
 *   non-network error on onError, so a policy decision is needed (owners of errorPolicy.ts /
 *   startServer close()). Symptom: "onError (…): StatusError: SERVER_CLOSING". Random: about 1 in
 *   9 seeds that restart the server fail on a given run.
 * - F. A never-loaded OT head whose answer was lost makes its tail unappliable:
 *   src/server/OTDocService.ts commits a baseRev-0 batch verbatim on top of head
 *   (docReloadRequired); when the batch's head was already committed by an attempt whose answer
 *   was lost, the tail written on top of it is committed verbatim too, not transformed over what
 *   others committed since the head: 400 "cannot be applied" on every retry, doc in 'error' with
 *   its pending changes forever. Symptom: "onError (notes-…): StatusError: Change … cannot be
 *   applied" with the client at committedRev 0. Seeds 48 (60 and 100 steps, every run), 242,
 *   268, 298 (100 steps).
 * - G. push-then-edit against a concurrent push: with `push` recorded as `add /list/-`, a change
 *   that pushes and then edits the pushed item by index is transformed over a concurrent push
 *   into an edit of the other item; when that item is a number it does not apply (the documented
 *   `/-` limit of src/algorithms/transformPatch.ts, which also promises "every result still
 *   applies strictly"): the server refuses the commit (400). Symptom: "… holds a number, which
 *   has no children (op 0 at "/list/N/v")". Seeds 58 (100 steps, in a 50..58 run), 211, 289, 395.
 * Fixed since the fuzz found them (each case is now a pinned regression):
 * - A. LWW ops minted while an LWW commit awaited its answer stayed unsent after a reconnect
 *   (no follow-up pass) — c0135fe. B. a repeated `online$` true replaced the socket silently (no
 *   full pass: no subscriptions, nothing flushed) — 122fd94/c0135fe. C. an OT doc edited before
 *   its first load looped commit ⇄ getDoc forever — f6b928a. E. a losing LWW child write wiped
 *   newer rows under the removed parent on the writer — c0135fe.
 */

/** CI size: 5 clients, this many random actions per seed. */
const CI_STEPS = 100;

/**
 * CI seeds: each passed four strict runs at CI size (32 seeds: about 17 s on 2 cores). While
 * finding D is open they are seeds whose script has no server restart: every seed with one can
 * hit D at random, so it would make CI flaky; once D is settled, re-pick from all seeds (a
 * `FUZZ_SEEDS=400 FUZZ_STEPS=100` run lists them). A CI seed that ever fails is a finding, not
 * noise: replay it and report it.
 */
const CI_SEEDS: readonly number[] = [3, 4, 14, 15, 28, 40, 49, 51, 53, 59, 96, 98, 109, 112, 131, 137, 149, 150, 154, 164, 170, 173, 174, 184, 214, 216, 217, 220, 221, 222, 226, 229];

/** Seeds that failed at CI size (100 steps) on a strict run, by finding (see FUZZ FINDINGS). */
const KNOWN_FAILING: Readonly<Record<string, readonly number[]>> = {
  'D (SERVER_CLOSING on onError; random, on any seed with a server restart)': [
    1, 5, 10, 16, 18, 19, 24, 45, 46, 57, 64, 72, 74, 79, 85, 91, 105, 113, 118, 139, 163, 197, 228, 237, 247, 263, 282, 285, 294, 318, 321, 325, 326,
    328, 329, 337, 383, 390, 399,
  ],
  'F (tail of a never-loaded head committed verbatim)': [48, 242, 268, 298],
  'G (push-then-edit against a concurrent push)': [58, 211, 289, 395],
};

const env = process.env;
const int = (name: string): number | undefined => (env[name] !== undefined && env[name] !== '' ? Number.parseInt(env[name]!, 10) : undefined);

const listed = env.FUZZ_SEED ? env.FUZZ_SEED.split(',').map(seed => Number.parseInt(seed, 10)) : undefined;
const count = int('FUZZ_SEEDS');
const first = int('FUZZ_FIRST_SEED') ?? 1;
const steps = int('FUZZ_STEPS') ?? CI_STEPS;
const clients = int('FUZZ_CLIENTS') ?? 5;
const stuckAfter = int('FUZZ_STUCK_MS') ?? (count === undefined && listed === undefined ? 10_000 : undefined);
const tolerate = (env.FUZZ_TOLERATE ?? '').split(',').filter(Boolean) as Tolerance[];
const verbose = env.FUZZ_VERBOSE === '1';

const seeds = listed ?? (count !== undefined ? Array.from({ length: count }, (_, i) => first + i) : CI_SEEDS);

describe('convergence fuzz', () => {
  it.each(seeds)('should converge with seed %i', async seed => {
    const report = await runConvergence({ seed, steps, clients, stuckAfter, tolerate });
    if (verbose) {
      const s = report.stats;
      const byClient = report.rebasedAway.filter(r => r.by === 'client').length;
      const tolerated = [s.strandedNudges ? `${s.strandedNudges} stranded-LWW nudges` : '', s.serverClosing503 ? `${s.serverClosing503} tolerated 503s` : ''].filter(Boolean);
      process.stdout.write(
        `seed ${seed}: ${report.failures.length ? 'FAIL' : 'ok'} in ${report.ms} ms — ${s.edits} edits, ${s.drops} drops, ` +
          `${s.midFrameKills} mid-frame kills, ${s.delayBursts} delay bursts, ${s.offline} offline, ${s.onlineAgain} online-again, ` +
          `${s.clientRestarts} client / ${s.serverRestarts} server restarts, ${s.proxyConnections} connections, ${s.commitCalls} commits, ` +
          `${report.rebasedAway.length} rebased away (${byClient} by a client)${tolerated.length ? `; tolerated: ${tolerated.join(', ')}` : ''}` +
          `${report.failures.length ? `\n    ${report.failures[0].slice(0, 300)}` : ''}\n`,
      );
    }
    if (report.failures.length > 0) throw new Error(formatFailure(report));
  }, 120_000);
});
