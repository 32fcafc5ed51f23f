import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package; `.ci/run` installs it. Playwright's own browser downloads are never used. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless Chromium as root in a container, with no network of its own. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * `describe`, or `describe.skip` with a message when Chromium is missing outside CI. In CI
 * (`process.env.CI` set) the specs always run, so a missing browser fails them instead of hiding them.
 */
export function describeWithChromium(): jest.Describe {
  if (existsSync(CHROMIUM_PATH) || process.env.CI) return describe;
  console.warn(
    `Skipping the browser e2e specs: ${CHROMIUM_PATH} is missing. ` +
      'Install it with `apt-get install -y --no-install-recommends chromium` (CI does; there they never skip).',
  );
  return describe.skip;
}

/** A browser whose profile (and so its IndexedDB) lives in `userDataDir`, as a real user's would. */
export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors: a spec asserts none happened. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** The page's uncaught errors and console errors, as they come. */
function watchErrors(page: Page): string[] {
  const pageErrors: string[] = [];
  page.on('pageerror', error => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', message => {
    if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`);
  });
  return pageErrors;
}

/**
 * Launches Chromium on a persistent profile and opens one page at `url`. Closing the session
 * closes the browser process; launching again on the same directory is a browser restart.
 */
export async function launchBrowser(userDataDir: string, url: string): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium is missing at ${CHROMIUM_PATH}; .ci/run installs it with apt-get.`);
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = watchErrors(page);
    // Module scripts run before `load`, so `window.app` exists once this resolves.
    await page.goto(url);
    return { context, page, pageErrors, close: () => context.close() };
  } catch (error) {
    await context.close();
    throw error;
  }
}

/**
 * Like `launchBrowser`, but every page is a tab of one window, as in a user's browser (only the
 * front tab is visible: `page.bringToFront()`), and DevTools' `Page.setWebLifecycleState` really
 * freezes a tab (its document gets `freeze` and `resume`; its timers stop). Playwright's own launch
 * keeps every page visible (it turns focus emulation on, which counts as a capture of the page),
 * so there the call freezes nothing and fires nothing, and it disables the back/forward cache
 * (`--disable-back-forward-cache`). So Chromium is started here, and Playwright attaches to it
 * over the DevTools protocol without its defaults (`noDefaults`).
 */
export async function launchTabbedBrowser(userDataDir: string, url: string): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium is missing at ${CHROMIUM_PATH}; .ci/run installs it with apt-get.`);
  const child = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, '--headless', '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  /** Ends the browser: asked to close over DevTools (`browser`), it ends its tabs' processes too; killed if it has not within 10 s. */
  const stop = async (browser?: Browser) => {
    if (child.exitCode === null && child.signalCode === null) {
      const cdp = await browser?.newBrowserCDPSession().catch(() => undefined);
      await cdp?.send('Browser.close').catch(() => undefined);
      const guard = setTimeout(() => child.kill('SIGKILL'), browser ? 10_000 : 0);
      await exited;
      clearTimeout(guard);
    }
    child.stderr.destroy();
  };
  let browser: Browser | undefined;
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let said = '';
      const listen = (chunk: Buffer) => {
        said += chunk.toString();
        const found = /DevTools listening on (ws:\/\/\S+)/.exec(said);
        if (!found) return;
        child.stderr.off('data', listen).resume();
        resolve(found[1]);
      };
      child.stderr.on('data', listen);
      child.once('exit', code => reject(new Error(`Chromium exited (${code}) before it listened: ${said}`)));
    });
    const connected = (browser = await chromium.connectOverCDP(endpoint, { noDefaults: true }));
    const context = connected.contexts()[0];
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = watchErrors(page);
    await page.goto(url);
    return {
      context,
      page,
      pageErrors,
      close: () => stop(connected),
    };
  } catch (error) {
    await stop(browser);
    throw error;
  }
}
