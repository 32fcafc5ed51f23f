import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The command line server (`bin/patches-rx-server.js`, which runs `dist/`: build first). */
export const SERVER_BIN = join(__dirname, '..', '..', 'bin', 'patches-rx-server.js');

/** How long a child may take to print its listening line. */
const START_LIMIT_MS = 15_000;

/** A `patches-rx-server` running as a real child process. */
export interface ServerProcess {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** `ws://127.0.0.1:<port>`. */
  url: string;
  /** Its OS process id. */
  pid: number;
  /** What it wrote to stderr, line by line. */
  stderr: string[];
  /** Resolves with the exit code (or signal name) once it exited. */
  exited: Promise<number | string>;
  /** Sends a signal (`SIGKILL` for a crash, `SIGTERM` for a graceful stop) and waits for the exit. */
  stop(signal: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `patches-rx-server --port 0 <args>` and resolves once it prints its listening line.
 *
 * @param args more command line flags (e.g. `['--database-url', url]`)
 * @throws Error with its stderr when it exits or stays silent instead
 */
export async function startServerProcess(args: readonly string[]): Promise<ServerProcess> {
  if (!existsSync(join(__dirname, '..', '..', 'dist', 'server', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const child: ChildProcess = spawn(process.execPath, [SERVER_BIN, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  lines(child.stderr!, (line) => stderr.push(line));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server process did not start within ${START_LIMIT_MS} ms: ${stderr.join('\n')}`));
    }, START_LIMIT_MS);
    lines(child.stdout!, (line) => {
      const match = /listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve(Number(match[1]));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server process exited (${code}) before listening: ${stderr.join('\n')}`));
    });
  });
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid!,
    stderr,
    exited,
    stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) !== -1) {
      onLine(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
    }
  });
}
