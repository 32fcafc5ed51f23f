/**
 * The demo's server script (`examples/board/server.js`, what `npm start` runs) on the command line.
 * Driving its page is the e2e specs' job (`spec/e2e/demoBoard.spec.ts`); this one checks what
 * it says before it builds or listens, and what it answers to plain HTTP requests.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDemo } from '../../e2e/helpers/demoProcess.js';

const ROOT = join(__dirname, '..', '..', '..');
const SERVER_SCRIPT = join(ROOT, 'examples', 'board', 'server.js');

/** Runs the script with `args`; resolves with its exit code and output once it exits. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SERVER_SCRIPT, ...args], { timeout: 10_000 }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

describe('examples/board/server.js', () => {
  it.each([
    [['--memory'], "Unknown option '--memory'"],
    [['--lww-prefix', 'kv-'], "Unknown option '--lww-prefix'"],
    [['--port'], "Option '--port <value>' argument missing"],
  ])('should refuse %j with one line naming its flags and exit 2, without a stack', async (args, reason) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`npm start: ${reason} (the demo takes --port, --host, --data and --max-change-bytes; the other flags are patches-rx-server's)\n`);
  });

  describe('once the Angular example is built', () => {
    // The demo serves the build at /angular/ only when it exists. A copy of the checkout (the script
    // copied, everything else linked) holds a stand-in build, so this checkout's own is left alone.
    let checkout: string;
    beforeAll(() => {
      checkout = mkdtempSync(join(tmpdir(), 'patches-rx-demo-'));
      for (const name of ['dist', 'src', 'node_modules']) symlinkSync(join(ROOT, name), join(checkout, name));
      const board = join(checkout, 'examples', 'board');
      mkdirSync(board, { recursive: true });
      for (const name of readdirSync(join(ROOT, 'examples', 'board'))) {
        if (name === 'server.js') copyFileSync(SERVER_SCRIPT, join(board, name));
        else symlinkSync(join(ROOT, 'examples', 'board', name), join(board, name));
      }
      const angular = join(checkout, 'examples', 'angular', 'dist', 'browser');
      mkdirSync(angular, { recursive: true });
      writeFileSync(join(angular, 'index.html'), '<!doctype html><title>stand-in for ng build</title>');
    });
    afterAll(() => rmSync(checkout, { recursive: true, force: true }));

    it('should answer a malformed escape under /angular/ with a 404 and keep serving (found in review: a URIError ended the process)', async () => {
      const demo = await startDemo({ port: await freePort(), dataDir: mkdtempSync(join(tmpdir(), 'patches-rx-demo-data-')), script: join(checkout, 'examples', 'board', 'server.js') });
      try {
        expect((await fetch(`${demo.url}angular/`)).status).toBe(200);
        expect((await fetch(`${demo.url}angular/%E0%A4%A`)).status).toBe(404);
        expect((await fetch(`${demo.url}angular/..%2f..%2fpackage.json`)).status).toBe(404);
        expect((await fetch(demo.url)).status).toBe(200);
      } finally {
        expect(await demo.stop()).toBe(0);
      }
    });
  });
});
