import type { Change } from '../../src/types.js';
import { storedOtHistory } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/serverProcess.js';
import { connectClient } from '../helpers/wsClient.js';
import type { FuzzFleet } from './fleet.js';

/** Options of {@link postgresFleet}. */
export interface PostgresFleetOptions {
  /** The database every process shares. */
  databaseUrl: string;
  /** How many server processes (default 3). */
  processes?: number;
  /** How many clients; client i starts on process i mod processes. */
  clients: number;
  /** More flags for every process (e.g. a small `--snapshot-every`). */
  args?: readonly string[];
}

/** A {@link FuzzFleet} that also says which process each client is on. */
export interface PostgresFleet extends FuzzFleet {
  /** The live processes, by slot. */
  readonly processes: readonly ServerProcess[];
  /** Slot of the process client `index` is on. */
  slotOf(index: number): number;
  /** Kills the process in `slot` (SIGKILL unless told), moves its clients to the next slot, starts a replacement in the slot. */
  kill(slot: number, retarget: (index: number, port: number) => void, signal?: NodeJS.Signals): Promise<string>;
}

/**
 * Several real `patches-rx-server` processes on one PostgreSQL database, as behind a load
 * balancer. The `serverRestart` action of the fuzz kills one (mostly `kill -9`, sometimes a
 * graceful SIGTERM): its clients' proxies move to the next process at once (their connections
 * died with it), and a fresh process takes its slot for the clients that come later.
 *
 * A process's stderr is a fault (the server prints nothing there unless something is wrong),
 * except the lines of a process that was killed.
 */
export async function postgresFleet(options: PostgresFleetOptions): Promise<PostgresFleet> {
  const count = options.processes ?? 3;
  const args = ['--database-url', options.databaseUrl, '--pool-size', '4', ...(options.args ?? [])];
  const processes: ServerProcess[] = await Promise.all(Array.from({ length: count }, () => startServerProcess(args)));
  const slots = Array.from({ length: options.clients }, (_, i) => i % count);
  const faults: string[] = [];
  const drain = (process: ServerProcess) => faults.push(...process.stderr.splice(0).map((line) => `process ${process.pid}: ${line}`));

  const kill = async (slot: number, retarget: (index: number, port: number) => void, signal: NodeJS.Signals = 'SIGKILL'): Promise<string> => {
    const victim = processes[slot];
    const next = (slot + 1) % count;
    await victim.stop(signal);
    if (signal !== 'SIGKILL') drain(victim);
    slots.forEach((s, index) => {
      if (s !== slot) return;
      slots[index] = next;
      retarget(index, processes[next].port);
    });
    processes[slot] = await startServerProcess(args);
    return `${signal} process ${slot} (pid ${victim.pid}); its clients moved to process ${next}; pid ${processes[slot].pid} took slot ${slot}`;
  };

  return {
    processes,
    slotOf: (index) => slots[index],
    portOf: (index) => processes[slots[index]].port,
    url: () => processes[0].url,
    kill,
    restart: (rng, retarget) => kill(rng.int(0, count - 1), retarget, rng.int(0, 3) === 0 ? 'SIGTERM' : 'SIGKILL'),
    drainFaults() {
      for (const process of processes) drain(process);
      return faults.splice(0);
    },
    async describeDoc(docId) {
      const heads = await Promise.all(
        processes.map(async (process, slot) => {
          const client = await connectClient(process.url);
          try {
            const answer = await client.call('getChangesSince', [docId, 0]);
            const changes = answer.result as Change[] | undefined;
            return `process ${slot} (pid ${process.pid}): ${changes ? `rev ${changes.length}` : JSON.stringify(answer.error)}`;
          } finally {
            await client.close();
          }
        }),
      );
      return `${docId}: database rev ${(await storedOtHistory(options.databaseUrl, docId)).length}; ${heads.join('; ')}`;
    },
    storedHead: async (docId) => (await storedOtHistory(options.databaseUrl, docId)).length,
    async close() {
      await Promise.all(processes.map((process) => process.stop('SIGTERM')));
    },
  };
}
