/**
 * The `patches-rx-server` command: starts the reference server with a durable file store.
 *
 * ```
 * patches-rx-server --port 8787 --data ./data --host 127.0.0.1 --lww-prefix lww
 * patches-rx-server --database-url postgres://app@db.internal/patches   # or DATABASE_URL=…
 * PORT=8080 HOST=0.0.0.0 patches-rx-server                               # flags win over both
 * ```
 * SIGTERM / SIGINT close it gracefully (in-flight commits finish and are acknowledged).
 * `GET /healthz` answers 200 `{ ok: true, connections, subscriptions }` while it serves (503 while
 * it shuts down, or once the store takes no more writes until a restart), and what the server reports to `onError` is printed to stderr.
 */
import { PatchesError } from '../errors.js';
import { healthCheck } from './healthCheck.js';
import { FileServerStore } from './stores/FileServerStore.js';
import { MemoryServerStore } from './stores/MemoryServerStore.js';
import { PostgresServerStore } from './stores/postgres/PostgresServerStore.js';
import { redact } from './stores/postgres/PostgresStartupError.js';
import type { ServerStore } from './stores/ServerStore.js';
import { byIdPrefix, startServer } from './startServer.js';
import type { RunningServer } from './startServer.js';
import { ALL_FRAMES_PER_MESSAGE_DEFLATE, SERVER_PER_MESSAGE_DEFLATE } from './wireCompression.js';

/** What the command line asked for. */
export interface CliOptions {
  /** TCP port (default `$PORT`, else 8787; 0 picks a free one). */
  port: number;
  /** Interface to listen on (default `$HOST`, else 127.0.0.1). */
  host: string;
  /** Data directory of the durable store (default ./data). */
  dataDir: string;
  /** Keep documents in memory only (nothing survives a restart). */
  memory: boolean;
  /** Keep documents in this PostgreSQL database (several server processes may share it): `--database-url`, else `$DATABASE_URL` when neither `--data` nor `--memory` is given. */
  databaseUrl?: string;
  /** PostgreSQL connection pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL statement timeout in ms (default 10 000). */
  statementTimeoutMs?: number;
  /** Ids starting with this are LWW documents, all others OT (default "lww"; "" makes every doc OT). */
  lwwPrefix: string;
  /** Snapshot every N changes (default: the server's, 200). */
  snapshotEvery?: number;
  /** Largest accepted change in bytes (default: the server's, 1 MB). */
  maxChangeBytes?: number;
  /** Most op pairs one OT commit's transform may cost before a 409 sends its client to rebase (default: the server's, 1,000,000; 0: no limit). */
  maxTransformWork?: number;
  /** permessage-deflate: only `large` frames (the server's default), `all` frames against kept windows, or `off`. */
  compression?: 'all' | 'large' | 'off';
  /** Most ms a SIGTERM/SIGINT waits for the server to close before the process exits with 1 (default 20 000; 0: no limit). */
  shutdownTimeoutMs: number;
  /** Print the usage and exit. */
  help: boolean;
}

/** What the command needs from its process; tests pass their own. */
export interface CliEnvironment {
  /** Prints a line to stdout. */
  log(line: string): void;
  /** Prints a line to stderr. */
  error(line: string): void;
  /** Registers a handler for SIGTERM / SIGINT. */
  onSignal(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  /** Ends the process. */
  exit(code: number): void;
  /** The `DATABASE_URL` environment variable: used when neither `--data` nor `--memory` is given. */
  databaseUrl?: string;
  /** The `PORT` environment variable: the port when `--port` is not given. */
  port?: string;
  /** The `HOST` environment variable: the interface when `--host` is not given. */
  host?: string;
}

/** Environment variables standing in for flags not given (`PORT`, `HOST`, `DATABASE_URL`). */
export interface CliDefaults {
  /** `PORT`: the port when `--port` is not given. */
  port?: string;
  /** `HOST`: the interface when `--host` is not given. */
  host?: string;
  /** `DATABASE_URL`: the database when none of `--database-url`, `--data` and `--memory` is given. */
  databaseUrl?: string;
}

/** The usage text. */
export const USAGE = `Usage: patches-rx-server [options]

  --port, -p <n>          port to listen on (default $PORT, else 8787; 0 picks a free port)
  --host <address>        interface to listen on (default $HOST, else 127.0.0.1; 0.0.0.0 for all)
  --data, -d <dir>        data directory (default ./data); one server process per
                          directory (a second one on it refuses to start)
  --memory                keep documents in memory only (lost on exit)
  --database-url <url>    keep documents in PostgreSQL (postgres://user:pass@host:port/db;
                          default: $DATABASE_URL unless --data or --memory is given;
                          refused together with --data or --memory);
                          several server processes may share one database
  --pool-size <n>         PostgreSQL connections per process (default 10)
  --statement-timeout <ms> PostgreSQL statement timeout (default 10000)
  --lww-prefix <prefix>   doc ids starting with it are LWW, all others OT (default "lww";
                          "" makes every doc OT)
  --snapshot-every <n>    write a snapshot every n changes (default 200; a big LWW doc more rarely)
  --max-change-bytes <n>  largest accepted change, and the most an OT change's copies may add (default 1000000)
  --max-transform-work <n> most op pairs an OT commit's transform may cost; past it the commit
                          answers 409 and its client rebases and resends (default 1000000; 0: no limit)
  --compression <mode>    permessage-deflate: large (default: frames of 4 KB or
                          more), all (every frame: ~5x fewer bytes per typed
                          change, ~2x server CPU per message, ~80-130 KB per
                          connection that exchanged messages), off
  --shutdown-timeout <ms> on SIGTERM/SIGINT, exit with 1 if closing takes longer (default 20000,
                          under the grace of systemd and Kubernetes; 0: wait as long as it takes)
  --help, -h              show this text

GET /healthz answers 200 {"ok":true,...} while the server serves, 503 while it stops
(or once the store takes no more writes until a restart: a failed disk sync).
No authorization: every client may read and write every doc. Beyond loopback,
run startServer({ authorize, authorizeConnection }) from code (docs/server.md).`;

/**
 * Parses the command line (`--flag value` or `--flag=value`).
 *
 * @param argv the arguments after the script name
 * @param defaults `PORT`, `HOST` and `DATABASE_URL` from the environment, for flags not given
 * @return the options, defaults filled in
 * @throws Error naming the bad flag, value or variable
 */
export function parseCliArgs(argv: readonly string[], defaults: CliDefaults = {}): CliOptions {
  const options: CliOptions = {
    port: defaults.port ? integer('PORT', defaults.port, 0, 65535) : 8787,
    host: defaults.host || '127.0.0.1',
    dataDir: './data',
    memory: false,
    lwwPrefix: 'lww',
    shutdownTimeoutMs: 20_000,
    help: false,
  };
  let dataGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--port':
      case '-p':
        options.port = integer(flag, value(), 0, 65535);
        break;
      case '--host':
        options.host = nonEmpty(flag, value());
        break;
      case '--data':
      case '-d':
        options.dataDir = nonEmpty(flag, value());
        dataGiven = true;
        break;
      case '--memory':
        options.memory = true;
        break;
      case '--database-url':
        options.databaseUrl = nonEmpty(flag, value());
        break;
      case '--pool-size':
        options.poolSize = integer(flag, value(), 1, 10_000);
        break;
      case '--statement-timeout':
        options.statementTimeoutMs = integer(flag, value(), 0, Number.MAX_SAFE_INTEGER);
        break;
      case '--lww-prefix':
        options.lwwPrefix = value();
        break;
      case '--snapshot-every':
        options.snapshotEvery = integer(flag, value(), 1, Number.MAX_SAFE_INTEGER);
        break;
      case '--max-change-bytes':
        options.maxChangeBytes = integer(flag, value(), 1, Number.MAX_SAFE_INTEGER);
        break;
      case '--max-transform-work':
        options.maxTransformWork = integer(flag, value(), 0, Number.MAX_SAFE_INTEGER);
        break;
      case '--compression': {
        const mode = value();
        if (mode !== 'all' && mode !== 'large' && mode !== 'off') throw new Error(`--compression must be all, large or off (got "${mode}")`);
        options.compression = mode;
        break;
      }
      case '--shutdown-timeout':
        options.shutdownTimeoutMs = integer(flag, value(), 0, 2 ** 31 - 1);
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (options.databaseUrl !== undefined && options.memory) throw new Error('--database-url and --memory exclude each other');
  // Said at once rather than one of them ignored: an operator who gave both meant one of them.
  if (options.databaseUrl !== undefined && dataGiven) throw new Error('--database-url and --data exclude each other');
  // The environment's database only where no flag chose a store.
  if (options.databaseUrl === undefined && !options.memory && !dataGiven && defaults.databaseUrl) options.databaseUrl = defaults.databaseUrl;
  return options;
}

/**
 * Runs the command: parses `argv`, starts the server, closes it on SIGTERM/SIGINT.
 *
 * @param argv the arguments after the script name
 * @param env the process hooks (default: the real process)
 * @return the running server, or `undefined` after `--help` or a usage error
 */
export async function runCli(argv: readonly string[], env: CliEnvironment = processEnvironment()): Promise<RunningServer | undefined> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv, { port: env.port, host: env.host, databaseUrl: env.databaseUrl });
  } catch (error) {
    env.error(`patches-rx-server: ${(error as Error).message}\n\n${USAGE}`);
    env.exit(2);
    return undefined;
  }
  if (options.help) {
    env.log(USAGE);
    return undefined;
  }
  const { databaseUrl } = options;
  let store: ServerStore | undefined;
  let server: RunningServer;
  let running: RunningServer | undefined;
  let stopping = false;
  try {
    if (databaseUrl !== undefined) {
      store = new PostgresServerStore({ connectionString: databaseUrl, poolSize: options.poolSize, statementTimeoutMs: options.statementTimeoutMs });
    } else {
      store = options.memory
        ? new MemoryServerStore()
        : new FileServerStore({ directory: options.dataDir, onWarning: (warning) => env.error(`patches-rx-server: warning: ${warning.message}`) });
    }
    // startServer opens the store first: an unreachable database or an unusable data directory
    // fails here with one line (PostgresStartupError, or StoreError naming the directory).
    server = await startServer({
      port: options.port,
      host: options.host,
      store,
      algorithmFor: byIdPrefix(options.lwwPrefix),
      snapshotEvery: options.snapshotEvery,
      maxChangeBytes: options.maxChangeBytes,
      maxTransformWork: options.maxTransformWork === 0 ? Infinity : options.maxTransformWork,
      compression: options.compression === undefined ? undefined : { all: ALL_FRAMES_PER_MESSAGE_DEFLATE, large: SERVER_PER_MESSAGE_DEFLATE, off: false as const }[options.compression],
      onError: (error) => env.error(`patches-rx-server: ${describeFault(error)}`),
      // Healthy from the listening line to the signal: a stopping process is taken out of rotation.
      onHttpRequest: healthCheck(() => (stopping ? undefined : running?.stats)),
    });
    running = server;
  } catch (error) {
    await store?.close().catch(() => undefined);
    env.error(`patches-rx-server: cannot start: ${(error as Error).message}`);
    env.exit(1);
    return undefined;
  }
  const where = databaseUrl !== undefined ? `data in PostgreSQL at ${redact(databaseUrl)}` : options.memory ? 'in memory' : `data in ${options.dataDir}`;
  // byIdPrefix('') makes no doc LWW: saying 'ids starting with ""' would claim every one is.
  const routing = options.lwwPrefix === '' ? 'every doc is OT' : `ids starting with "${options.lwwPrefix}" are LWW`;
  env.log(`patches-rx server listening on ${server.url} (${where}; ${routing})`);
  const stop = (): void => {
    if (stopping) {
      env.error('patches-rx-server: forced exit');
      env.exit(1);
      return;
    }
    stopping = true;
    env.log('patches-rx server: shutting down…');
    // A close that hangs (a database that stopped answering holds the store's close) must not
    // hold a deploy until the orchestrator kills the process: every acknowledged commit is
    // durable already, so exiting loses nothing a client was told was saved.
    const { shutdownTimeoutMs } = options;
    const deadline =
      shutdownTimeoutMs > 0
        ? setTimeout(() => {
            env.error(`patches-rx-server: closing took more than ${shutdownTimeoutMs} ms (--shutdown-timeout): exiting`);
            env.exit(1);
          }, shutdownTimeoutMs)
        : undefined;
    server.close().then(
      () => {
        clearTimeout(deadline);
        env.log('patches-rx server: stopped');
        env.exit(0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        env.error(`patches-rx-server: error while closing: ${String(error)}`);
        env.exit(1);
      },
    );
  };
  env.onSignal('SIGTERM', stop);
  env.onSignal('SIGINT', stop);
  return server;
}

function processEnvironment(): CliEnvironment {
  return {
    log: (line) => console.log(line),
    error: (line) => console.error(line),
    onSignal: (signal, handler) => void process.on(signal, handler),
    exit: (code) => process.exit(code),
    databaseUrl: process.env.DATABASE_URL,
    port: process.env.PORT,
    host: process.env.HOST,
  };
}

/**
 * One report for stderr: our own typed errors (a corrupt doc's `StoreError`…) as their name and
 * message, on one line; anything else with its stack, since it is a bug to find.
 */
function describeFault(error: unknown): string {
  if (error instanceof PatchesError) return `${error.name}: ${error.message}`;
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${flag} must be an integer from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

function nonEmpty(flag: string, text: string): string {
  if (text === '') throw new Error(`${flag} needs a value`);
  return text;
}
