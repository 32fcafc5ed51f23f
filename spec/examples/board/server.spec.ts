/**
 * The demo's server script (`examples/board/server.js`, what `npm start` runs) on the command line.
 * Starting it for real is the e2e specs' job (`spec/e2e/demoBoard.spec.ts`); this one checks what
 * it says before it builds or listens.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const SERVER_SCRIPT = join(__dirname, '..', '..', '..', 'examples', 'board', 'server.js');

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
});
