import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServerStore, startServer, type RunningServer, type StartServerOptions } from '../../src/server/index.js';
import type { Rng } from './random.js';

/**
 * The server side of a convergence run: the process(es) the clients' chaos proxies forward to.
 * The script's `serverRestart` action goes through `restart`.
 */
export interface FuzzFleet {
  /** Port the proxy of client `index` forwards to. */
  portOf(index: number): number;
  /** Url of a server the final checks read from. */
  url(): string;
  /**
   * Restarts (or kills) a server process; `retarget` points a client's proxy at another port.
   *
   * @return the trace line saying what happened
   */
  restart(rng: Rng, retarget: (index: number, port: number) => void): Promise<string>;
  /** Faults of processes that cannot report them as they happen (child processes' stderr), since the last call. */
  drainFaults?(): string[];
  /** For a failure report: what each process (and the storage itself) holds of an OT doc, when there are several. */
  describeDoc?(docId: string): Promise<string>;
  /** The head rev of an OT doc as the storage holds it, when several processes share it (one may be a moment behind). */
  storedHead?(docId: string): Promise<number>;
  /** Stops every process and removes what it stored. */
  close(): Promise<void>;
}

/**
 * One in-process reference server on a file store in a temp dir: the default fleet. A restart
 * is graceful and comes back on the same port (a new one, and every proxy moved, if it was taken).
 *
 * @param clients how many clients will connect
 * @param onFault receives the server's faults (each one is a failure of the run)
 * @param fsync whether the file store syncs (the server's default: yes)
 * @param options more server options (the fuzz's test hooks)
 */
export async function fileServerFleet(clients: number, onFault: (error: unknown) => void, fsync = true, options: StartServerOptions = {}): Promise<FuzzFleet> {
  const dataDir = await mkdtemp(join(tmpdir(), 'patches-rx-fuzz-'));
  const serve = (port: number) => startServer({ ...options, port, store: new FileServerStore({ directory: dataDir, fsync }), onError: onFault });
  let server: RunningServer = await serve(0);
  return {
    portOf: () => server.port,
    url: () => server.url,
    async restart(_rng, retarget) {
      const port = server.port;
      await server.close();
      try {
        server = await serve(port);
        return '';
      } catch {
        // The port was taken meanwhile: come back on a new one and point the proxies at it.
        server = await serve(0);
        for (let i = 0; i < clients; i++) retarget(i, server.port);
        return `moved to port ${server.port}`;
      }
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
