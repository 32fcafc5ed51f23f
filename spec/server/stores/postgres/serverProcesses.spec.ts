import type { Change, CommitChangesResult, PatchesSnapshot } from '../../../../src/types.js';
import { formatFailure, runConvergence, type FuzzStores } from '../../../fuzz/convergence.js';
import { postgresFleet, type PostgresFleet } from '../../../fuzz/postgresFleet.js';
import { describeWithPostgres, storedOtHistory, usePostgresCluster } from '../../../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../../../helpers/serverProcess.js';
import { change } from '../../../helpers/testServer.js';
import { callOrDie, connectClient } from '../../../helpers/wsClient.js';

/**
 * Acceptance of the scale-out (issue 14): real `patches-rx-server` processes (from `dist/`) on
 * one PostgreSQL database.
 */

/**
 * Seeds of the multi-process convergence fuzz in CI (6 clients on 3 processes), picked from the
 * first 30 (all green) for their kills: 2 and 5 kill -9 one process, 10 and 13 two or three,
 * 12 stops one gracefully. FUZZ_PG_SEEDS=<n> runs seeds 1..n instead, FUZZ_SEED=<n>[,<n>…]
 * replays seeds, FUZZ_STEPS the size, FUZZ_STORES the clients' stores (as `npm run fuzz -- --stores`), and
 * FUZZ_VERBOSE=1 prints what each seed killed.
 */
const CI_SEEDS: readonly number[] = [2, 5, 10, 12, 13];
const CI_STEPS = 60;

const env = process.env;
const seeds = env.FUZZ_SEED
  ? env.FUZZ_SEED.split(',').map(Number)
  : env.FUZZ_PG_SEEDS
    ? Array.from({ length: Number(env.FUZZ_PG_SEEDS) }, (_, i) => i + 1)
    : CI_SEEDS;
const steps = env.FUZZ_STEPS ? Number(env.FUZZ_STEPS) : CI_STEPS;

describeWithPostgres()('patches-rx-server processes on one PostgreSQL database', () => {
  const cluster = usePostgresCluster();

  it('should lose nothing acknowledged and duplicate nothing when one of three processes is killed -9 in the middle of commits', async () => {
    const url = await cluster().createDatabase('kill');
    const args = ['--database-url', url, '--pool-size', '4', '--snapshot-every', '10'];
    const processes: ServerProcess[] = await Promise.all([0, 1, 2].map(() => startServerProcess(args)));
    const acked = new Set<string>();
    const sent = new Set<string>();
    const counted = new Map<number, Set<string>>();
    let reconnects = 0;
    let onAck: () => void = () => undefined;
    const enoughAcks = new Promise<void>((resolve) => (onAck = () => acked.size >= 40 && resolve()));

    /** One client: commits one OT and one LWW change per round; when its process dies, resends to the next one. */
    const runClient = async (index: number): Promise<void> => {
      let slot = index % 3;
      let client = await connectClient(processes[slot].url);
      let baseRev = 0;
      const mine = new Set<string>();
      counted.set(index, mine);
      for (let round = 0; round < 15; round++) {
        const id = `c${index}-${round}`;
        const commits: Array<[string, Partial<Change>]> = [
          ['list', change(id, baseRev, [{ op: 'add', path: '/-', value: id }])],
          ['lww-counts', change(id, 0, [{ op: '@inc', path: `/n${index}`, value: 1, ts: 1 }])],
        ];
        for (const [docId, body] of commits) {
          sent.add(`${docId}:${id}`);
          for (let attempt = 0; ; attempt++) {
            if (attempt > 5) throw new Error(`client ${index}: ${docId} ${id} never acknowledged`);
            const reply = await callOrDie(client, 'commitChanges', [docId, [docId === 'list' ? { ...body, baseRev } : body]]);
            if (reply === 'died') {
              // Its process died: reconnect to the next one and resend the same change.
              reconnects++;
              slot = (slot + 1) % 3;
              client = await connectClient(processes[slot].url);
              continue;
            }
            if ('error' in reply) {
              if ((reply.error as { code: number }).code === 503) continue;
              throw new Error(`client ${index}: ${JSON.stringify(reply.error)}`);
            }
            const result = reply.result as CommitChangesResult;
            if (docId === 'list') baseRev = Math.max(baseRev, ...result.changes.map((c) => c.rev));
            if (docId === 'lww-counts') mine.add(id);
            acked.add(`${docId}:${id}`);
            onAck();
            break;
          }
        }
      }
      await client.close();
    };

    const listRoot = await connectClient(processes[0].url);
    await listRoot.call('commitChanges', ['list', [change('root', 0, [{ op: 'replace', path: '', value: [] }])]]);
    await listRoot.close();
    const clients = Promise.all([0, 1, 2, 3, 4, 5].map(runClient));
    await enoughAcks;
    const victim = processes[0];
    expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
    processes[0] = processes[1];
    await clients;
    // The two clients of the killed process had commits in flight and moved on.
    expect(reconnects).toBe(2);

    const log = await storedOtHistory(url, 'list');
    expect(log.map((c) => c.rev)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
    const ids = log.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const sentOT = [...sent].filter((key) => key.startsWith('list:')).map((key) => key.slice(5));
    expect(ids.slice(1).sort()).toEqual(sentOT.sort());
    // Read through a process started now: the others learn of each other's last commits by
    // NOTIFY, a moment later, and a read there right after the clients finished could miss one.
    const fresh = await startServerProcess(args);
    const reader = await connectClient(fresh.url);
    const lww = (await reader.call('getDoc', ['lww-counts'])).result as PatchesSnapshot;
    const counts = Object.fromEntries(lww.changes.flatMap((c) => c.ops).map((op) => [op.path, op.value]));
    for (const [index, mine] of counted) expect(counts[`/n${index}`]).toBe(mine.size);
    await reader.close();
    await fresh.stop('SIGTERM');
    for (const process of processes.slice(1)) expect(process.stderr).toEqual([]);
    await Promise.all(processes.slice(1).map((process) => process.stop('SIGTERM')));
  }, 120_000);

  describe('the convergence fuzz, 6 clients on 3 processes', () => {
    let fleet: PostgresFleet;
    beforeAll(async () => {
      fleet = await postgresFleet({ databaseUrl: await cluster().createDatabase('fuzz'), clients: 6, args: ['--snapshot-every', '15'] });
    }, 60_000);
    afterAll(async () => {
      await fleet?.close();
    });

    it.each(seeds)('should converge with seed %i', async (seed) => {
      const docs = [`notes-0-s${seed}`, `notes-1-s${seed}`, `lww-0-s${seed}`, `lww-1-s${seed}`];
      const report = await runConvergence({ seed, steps, clients: 6, docs, fleet, stuckAfter: 20_000, stores: env.FUZZ_STORES as FuzzStores | undefined });
      if (env.FUZZ_VERBOSE === '1') {
        const kills = report.trace.filter((line) => line.includes('SIG')).map((line) => line.trim().split(' ').slice(0, 3).join(' '));
        process.stdout.write(`seed ${seed}: ${report.failures.length ? 'FAIL' : 'ok'} in ${report.ms} ms, ${report.stats.edits} edits, ${report.stats.commitCalls} commits, ${kills.join('; ') || 'no kill'}\n`);
      }
      if (report.failures.length > 0) throw new Error(formatFailure(report));
    }, 120_000);
  });
});
