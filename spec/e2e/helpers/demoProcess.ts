import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const SERVER_SCRIPT = join(__dirname, '..', '..', '..', 'examples', 'board', 'server.js');

/** The `npm start` demo, running as its own process. */
export interface DemoProcess {
  /** `http://127.0.0.1:<port>/`, the URL it printed. */
  url: string;
  port: number;
  /** Everything it printed. */
  output(): string;
  /** SIGTERM, then resolves with its exit code once it has exited. */
  stop(): Promise<number | null>;
}

/** A free loopback port (so a restarted demo can come back on the same origin, and so the same IndexedDB). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return port;
}

/**
 * Runs `node examples/board/server.js` (what `npm start` runs; `script`: a copy of it elsewhere) and resolves once it prints its URL;
 * rejects with its output if it exits first or says nothing within 30 s.
 */
export function startDemo(args: { port: number; dataDir: string; extra?: string[]; script?: string }): Promise<DemoProcess> {
  const child: ChildProcess = spawn(process.execPath, [args.script ?? SERVER_SCRIPT, '--port', String(args.port), '--data', args.dataDir, ...(args.extra ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
  return new Promise<DemoProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the demo printed no URL within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /patches-rx demo: (http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: match[1],
        port: Number(match[2]),
        output: () => output,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    void exited.then(code => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before printing its URL:\n${output}`));
    });
  });
}
