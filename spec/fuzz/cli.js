#!/usr/bin/env node
/**
 * `npm run fuzz`: the convergence fuzz at full size. It runs spec/fuzz/convergence.spec.ts under
 * jest (which runs the TypeScript directly), passing the size through environment variables.
 *
 *   npm run fuzz                          500 seeds from 1, 150 steps, 5 clients
 *   npm run fuzz -- --seeds 2000 --first 1000
 *   npm run fuzz -- --seed 1234           replay one seed (add the --steps/--clients it failed with);
 *                                         --seed 3,4,14 replays several
 *   npm run fuzz -- --stuck 5000          liveness bound in ms (default 20000; 31 s more with faults on)
 *   npm run fuzz -- --stores shared-idb   clients' stores: memory (default), idb (an IndexedDBStore
 *                                         each, fake-indexeddb), shared-idb (up to 3 clients per database,
 *                                         a connection each) or tabs (the same, one leader per database)
 *   npm run fuzz -- --slow-store          every store call waits 0–3 ms first (IndexedDB on a busy machine)
 *   npm run fuzz -- --edits extended      also edits keys needing pointer escapes, numeric-string keys, arrays of
 *                                         arrays, deep paths, several mutations in one change(), reverse/unshift,
 *                                         LWW parents switching type; half the witnesses use such keys;
 *                                         cards are also dragged through the list (every mode drags cards
 *                                         between two lists of their own with change(), one drag per change)
 *   npm run fuzz -- --big                 one edit in eight is 300–4,000 bytes while the clients' budgets are
 *                                         small (800-byte changes, 5,000-byte batches): changes are split
 *   npm run fuzz -- --server-errors 0.04  that share of commit, read, subscribe and delete calls is answered
 *                                         503, 500 or -32000 (before the server sees it or instead of its reply)
 *                                         on a socket that stays open; 500 and -32000 may reach onError, 503 never
 *   npm run fuzz -- --store-faults 0.03   that share of the sync engine's own store calls throws AbortError;
 *                                         those may reach onError. A wait allows the retry ladder's first
 *                                         five steps (31 s) on top of --stuck, sized for rates up to ~0.05:
 *                                         at 0.2 a retry run (5+ store calls) fails ~2 times in 3, so a doc
 *                                         may fail past the bound (~14% per streak) and past all 10 quick
 *                                         retries (~2%, then the 5-minute re-probe), its next retry still
 *                                         scheduled: give such rates --stuck 600000 (seeds then take 2-4 min)
 *   npm run fuzz -- --max-transform-work 20  the server refuses a commit whose transform passes that many op
 *                                         pairs (409 TOO_FAR_BEHIND): clients catch up, rebase and resend
 *
 * The modes combine (e.g. --stores tabs --slow-store --big --server-errors 0.04).
 *
 * Every seed prints one line (what it exercised); a failure prints the seed, its replay command,
 * what failed and the last actions of its script. The exit code is jest's.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const jest = createRequire(import.meta.url).resolve('jest/bin/jest');

const flags = { seeds: '500', first: '1', steps: '150', clients: '5' };
const env = { ...process.env, FUZZ_VERBOSE: '1' };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const value = () => {
    const next = args[++i];
    if (next === undefined) usage(`${arg} needs a value`);
    return next;
  };
  switch (arg) {
    case '--seed':
      env.FUZZ_SEED = value()
        .split(',')
        .map(seed => integer(arg, seed))
        .join(',');
      break;
    case '--seeds':
      flags.seeds = integer(arg, value());
      break;
    case '--first':
      flags.first = integer(arg, value());
      break;
    case '--steps':
      flags.steps = integer(arg, value());
      break;
    case '--clients':
      flags.clients = integer(arg, value());
      break;
    case '--stores':
      env.FUZZ_STORES = value();
      if (!['memory', 'idb', 'shared-idb', 'tabs'].includes(env.FUZZ_STORES)) usage(`--stores takes memory, idb, shared-idb or tabs, not "${env.FUZZ_STORES}"`);
      break;
    case '--slow-store':
      env.FUZZ_SLOW_STORE = '1';
      break;
    case '--edits':
      env.FUZZ_EDITS = value();
      if (!['basic', 'extended'].includes(env.FUZZ_EDITS)) usage(`--edits takes basic or extended, not "${env.FUZZ_EDITS}"`);
      break;
    case '--big':
      env.FUZZ_BIG = '1';
      break;
    case '--server-errors':
      env.FUZZ_SERVER_ERRORS = fraction(arg, value());
      break;
    case '--store-faults':
      env.FUZZ_STORE_FAULTS = fraction(arg, value());
      break;
    case '--max-transform-work':
      env.FUZZ_MAX_TRANSFORM_WORK = integer(arg, value());
      break;
    case '--stuck':
      env.FUZZ_STUCK_MS = integer(arg, value());
      break;
    case '--help':
    case '-h':
      usage();
      break;
    default:
      usage(`unknown option ${arg}`);
  }
}
if (env.FUZZ_SEED === undefined) {
  env.FUZZ_SEEDS = flags.seeds;
  env.FUZZ_FIRST_SEED = flags.first;
}
env.FUZZ_STEPS = flags.steps;
env.FUZZ_CLIENTS = flags.clients;
env.FUZZ_STORES ??= 'memory';

const child = spawn(process.execPath, [jest, 'spec/fuzz/convergence.spec.ts', '--runInBand', '--verbose=false'], { cwd: root, env, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

function integer(flag, text) {
  if (!/^\d+$/.test(text)) usage(`${flag} takes a non-negative integer, not "${text}"`);
  return text;
}

function fraction(flag, text) {
  const rate = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || !(rate > 0 && rate <= 1)) usage(`${flag} takes a rate in (0, 1], not "${text}"`);
  return text;
}

function usage(problem) {
  if (problem) console.error(`fuzz: ${problem}`);
  console.error('usage: npm run fuzz -- [--seeds N] [--first N] [--seed N] [--steps N] [--clients N] [--stuck ms] [--stores memory|idb|shared-idb|tabs] [--slow-store] [--edits basic|extended] [--big] [--server-errors rate] [--store-faults rate] [--max-transform-work pairs]');
  process.exit(problem ? 2 : 0);
}
