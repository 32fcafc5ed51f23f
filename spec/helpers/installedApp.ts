/**
 * An app of its own that has the built package installed, as an app's `npm install` leaves it:
 * `node_modules/patches-rx` is a symlink to this repository (`npm run build` first), and its own
 * package.json keeps `patches-rx` from resolving to the repo by self-reference. Used by the specs
 * that check the package as apps meet it (packaging, exactOptionalPropertyTypes).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** The repository root. */
export const ROOT = join(__dirname, '..', '..');
const TSC = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const run = promisify(execFile);

/** Makes a fresh app in `.tmp/<name>` with `consumer.ts` holding `consumer`; returns its directory. */
export function installApp(name: string, consumer: string): string {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const app = join(ROOT, '.tmp', name);
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(app, 'node_modules', 'patches-rx'), 'junction');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(join(app, 'consumer.ts'), consumer);
  return app;
}

/**
 * Type-checks the app's `consumer.ts` with `compilerOptions` (as `tsconfig.<config>.json`) and the
 * repository's TypeScript; resolves with tsc's output (`--listFiles` lists the program's files),
 * rejects with it when tsc reports errors.
 */
export async function typeCheckApp(app: string, config: string, compilerOptions: Record<string, unknown>, extraArgs: string[] = []): Promise<string> {
  writeFileSync(join(app, `tsconfig.${config}.json`), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  const { stdout } = await run(process.execPath, [TSC, '-p', `tsconfig.${config}.json`, ...extraArgs], { cwd: app }).catch((error: { stdout: string }) => {
    throw new Error(`tsc (${config}) failed:\n${error.stdout}`);
  });
  return stdout;
}

/** Runs `node <file>` in the app; resolves with its output. */
export async function runInApp(app: string, file: string): Promise<string> {
  return (await run(process.execPath, [file], { cwd: app })).stdout;
}
