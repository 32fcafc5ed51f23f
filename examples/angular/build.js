#!/usr/bin/env node
// `npm run example:angular` (and so `npm test`): installs the Angular example's own dependencies
// when its lock file changed (never into the root package), then builds it with `ng build` into
// examples/angular/dist/browser, which the demo server serves at /angular/.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const installed = join(HERE, 'node_modules', '.package-lock.json');
const lock = join(HERE, 'package-lock.json');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args, label) => {
  const started = Date.now();
  execFileSync(npm, args, { cwd: HERE, stdio: 'inherit' });
  console.log(`examples/angular: ${label} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
};

if (!existsSync(installed) || statSync(lock).mtimeMs > statSync(installed).mtimeMs) run(['ci', '--no-audit', '--no-fund'], 'npm ci');
run(['run', 'build'], 'ng build');
