import { existsSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

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

/**
 * Launches Chromium on a persistent profile and opens one page at `url`. Closing the session
 * closes the browser process; launching again on the same directory is a browser restart.
 */
export async function launchBrowser(userDataDir: string, url: string): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium is missing at ${CHROMIUM_PATH}; .ci/run installs it with apt-get.`);
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', error => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', message => {
      if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`);
    });
    // Module scripts run before `load`, so `window.app` exists once this resolves.
    await page.goto(url);
    return { context, page, pageErrors, close: () => context.close() };
  } catch (error) {
    await context.close();
    throw error;
  }
}
