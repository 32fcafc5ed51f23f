import type { CliEnvironment } from '../../src/server/cli.js';

/**
 * A fake process for `runCli`: records its output lines, its signal handlers and its exit code;
 * `signal(name)` delivers a signal, `exit` resolves with the code.
 */
export function fakeCliEnvironment(databaseUrl?: string) {
  const handlers = new Map<string, () => void>();
  let exited!: (code: number) => void;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const out: string[] = [];
  const err: string[] = [];
  const env: CliEnvironment = {
    log: (line) => out.push(line),
    error: (line) => err.push(line),
    onSignal: (signal, handler) => handlers.set(signal, handler),
    exit: (code) => exited(code),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
  };
  return { env, out, err, exit, signal: (name: string) => handlers.get(name)?.() };
}
