import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrashRounds } from '../../helpers/storeCrash.js';

// A FileServerStore in a child process killed with SIGKILL at random moments, round after round,
// with checkpoints every few segments (so many of the kills land in one, or in a rotation): each
// child recovers what the last left, and every commit, delete and undelete a child acknowledged
// must be there once, in order, with no deleted doc back; every other round the kill is followed
// by a power cut (each segment and each journal file loses what no sync covered, so the journal's
// synced records, both files of it, are what bring the lines back). Most starts follow a crash of
// this build (a journal with its header: only the docs it names are synced); a power cut that takes
// a header never synced makes one sync every doc's last segment. By hand, more rounds (its logs are kept in STORE_CRASH_LOGS):
//   npm run build && STORE_CRASH_ROUNDS=300 npx jest spec/server/stores/storeCrash.spec.ts
const ROUNDS = Number(process.env.STORE_CRASH_ROUNDS ?? 8);

describe('FileServerStore killed with SIGKILL at random moments', () => {
  if (!existsSync(join(__dirname, '..', '..', '..', 'dist', 'server', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');

  it('should keep every acknowledged commit once and in order, and every acknowledged delete, across kills and power cuts', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'patches-rx-crash-'));
    const reports = process.env.STORE_CRASH_LOGS ?? (await mkdtemp(join(tmpdir(), 'patches-rx-crash-reports-')));
    const lines: string[] = [];
    try {
      const result = await runCrashRounds({ directory, reports, rounds: ROUNDS, docs: 60, maxKillMs: 700, powerCut: (round) => round % 2 === 1, log: (line) => lines.push(line) });
      // Most rounds got through recovery and acknowledged something before their kill.
      expect(result.checked).toBeGreaterThan(ROUNDS / 2);
      expect(result.acks).toBeGreaterThan(ROUNDS * 10);
    } finally {
      if (process.env.STORE_CRASH_LOGS) console.log(lines.join('\n'));
      await rm(directory, { recursive: true, force: true });
      if (!process.env.STORE_CRASH_LOGS) await rm(reports, { recursive: true, force: true });
    }
  }, 30_000 + ROUNDS * 2_000);
});
