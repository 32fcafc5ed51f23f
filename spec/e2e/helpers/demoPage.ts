import type { BrowserContext, Locator, Page } from 'playwright-core';

/** The two documents of the demo, by the key of their save indicator. */
export type DemoDoc = 'board' | 'settings';

/** A text field of the demo: a card's text by its index, or the board name. */
export type TextField = number | 'name';

/** A card's text field (a textarea in the vanilla demo, an input in the Angular example). */
const CARD_TEXT = '.card [aria-label="Card text"]';

/** How long a page may take to show what another page did (generous: CI shares 2 cores). */
const WAIT_MS = 30_000;

declare global {
  interface Window {
    /** Every save-indicator label the page showed, in order (recorded by the spec, not the app). */
    saveLog: Record<DemoDoc, string[]>;
  }
}

/**
 * Records every label each save indicator shows. A MutationObserver delivers its records in batches,
 * so the labels in between are rebuilt from each record's `oldValue`: none is missed even when two
 * changes land in one task.
 */
function recordSaveIndicators(): void {
  window.saveLog = { board: [], settings: [] };
  document.addEventListener('DOMContentLoaded', () => {
    for (const doc of ['board', 'settings'] as const) {
      const element = document.getElementById(`save-${doc}`);
      // Apps that render their indicators later (the Angular example) are not recorded.
      if (!element) continue;
      const log = window.saveLog[doc];
      const push = (label: string | null | undefined) => {
        if (label && label !== '…' && log[log.length - 1] !== label) log.push(label);
      };
      new MutationObserver(records => {
        records.slice(1).forEach(record => push(record.oldValue));
        push(element.dataset.state);
      }).observe(element, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
      push(element.dataset.state);
    }
  });
}

/** One tab of the demo, driven the way a person uses it: through its inputs and buttons. */
export class DemoPage {
  /** Uncaught page errors and console errors: a spec asserts none happened. */
  readonly pageErrors: string[] = [];

  private constructor(
    readonly page: Page,
    private readonly readySelector: string,
  ) {
    page.on('pageerror', error => this.pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', message => {
      if (message.type() === 'error') this.pageErrors.push(`console.error: ${message.text()}`);
    });
  }

  /**
   * Opens the demo in a new tab of `context` and waits until it has rendered its documents
   * (`readySelector` is attached: `body[data-loaded]` for the vanilla demo).
   */
  static async open(context: BrowserContext, url: string, readySelector = 'body[data-loaded]'): Promise<DemoPage> {
    const page = await context.newPage();
    const demo = new DemoPage(page, readySelector);
    await page.addInitScript(recordSaveIndicators);
    await page.goto(url);
    await demo.loaded();
    return demo;
  }

  /** Resolves once the page has rendered from IndexedDB (it waits for no server). */
  loaded(): Promise<unknown> {
    return this.page.locator(this.readySelector).first().waitFor({ state: 'attached', timeout: WAIT_MS });
  }

  /** Resolves once the service worker controls the page, so it can load with the server down. */
  offlineReady(): Promise<unknown> {
    return this.page.locator('body[data-offline-ready]').waitFor({ state: 'attached', timeout: WAIT_MS });
  }

  /** The cards' texts, top to bottom. */
  cards(): Promise<string[]> {
    return this.page.locator(CARD_TEXT).evaluateAll(fields => fields.map(field => (field as HTMLTextAreaElement).value));
  }

  /** Waits until the cards read `expected`; on timeout, fails naming what the page shows. */
  async waitForCards(expected: string[]): Promise<void> {
    await this.waitFor(
      'cards',
      ([expected, selector]) => JSON.stringify(Array.from(document.querySelectorAll(selector), field => (field as HTMLTextAreaElement).value)) === expected,
      [JSON.stringify(expected), CARD_TEXT],
      () => this.cards(),
    );
  }

  /** The label of a document's save indicator. */
  save(doc: DemoDoc): Promise<string | null> {
    return this.page.locator(`#save-${doc}`).getAttribute('data-state');
  }

  /** Waits until a document's save indicator reads `label`. */
  waitForSave(doc: DemoDoc, label: string): Promise<void> {
    return this.waitFor(
      `save-${doc}`,
      ([id, label]) => document.getElementById(id)?.dataset.state === label,
      [`save-${doc}`, label],
      () => this.save(doc),
    );
  }

  /** Every label the save indicator of `doc` showed since the page loaded. */
  saveLog(doc: DemoDoc): Promise<string[]> {
    return this.page.evaluate(doc => window.saveLog[doc], doc);
  }

  /** The connection badges: online, connected, syncing. */
  async connection(): Promise<{ online: string; connected: string; syncing: string }> {
    const badge = (fact: string) => this.page.locator(`#connection .${fact}`).textContent().then(text => text ?? '');
    const [online, connected, syncing] = await Promise.all([badge('online'), badge('connected'), badge('syncing')]);
    return { online, connected, syncing };
  }

  /** Waits until the connection badge `fact` reads `label`. */
  waitForConnection(fact: 'online' | 'connected' | 'syncing', label: string): Promise<void> {
    return this.waitFor(
      `connection ${fact}`,
      ([fact, label]) => document.querySelector<HTMLElement>(`#connection .${fact}`)?.dataset.state === label,
      [fact, label],
      () => this.connection(),
    );
  }

  /** Waits until every doc of the page reads "All saved" and it is connected and idle. */
  async waitForAllSaved(): Promise<void> {
    await this.waitForConnection('connected', 'Connected');
    await this.waitForSave('board', 'All saved');
    await this.waitForSave('settings', 'All saved');
    await this.waitForConnection('syncing', 'Idle');
  }

  /** The settings as shown: board name field, checked theme, page theme, header. */
  async settings(): Promise<{ name: string; theme: string | null; pageTheme: string | null; header: string | null }> {
    const page = this.page;
    return {
      name: await page.locator('#settings input[name="name"]').inputValue(),
      theme: await page.locator('#settings input[name="theme"]:checked').getAttribute('value'),
      pageTheme: await page.locator('html').getAttribute('data-theme'),
      header: await page.locator('.board-name').textContent(),
    };
  }

  /** Waits until the settings read `name` and `theme`. */
  waitForSettings(name: string, theme: 'light' | 'dark'): Promise<void> {
    return this.waitFor(
      'settings',
      ([name, theme]) =>
        document.querySelector<HTMLInputElement>('#settings input[name="name"]')?.value === name && document.documentElement.dataset.theme === theme,
      [name, theme],
      () => this.settings(),
    );
  }

  /** Waits until the board name field reads `name`. */
  waitForName(name: string): Promise<void> {
    return this.waitFor(
      'board name',
      ([name]) => document.querySelector<HTMLInputElement>('#settings input[name="name"]')?.value === name,
      [name],
      () => this.page.locator('#settings input[name="name"]').inputValue(),
    );
  }

  /** The messages in the error area. */
  errors(): Promise<string[]> {
    return this.page.locator('#errors li span').allTextContents();
  }

  async addCard(text: string): Promise<void> {
    await this.page.getByRole('textbox', { name: 'New card' }).fill(text);
    await this.page.getByRole('button', { name: 'Add' }).click();
  }

  /** Clicks into the card's text at `at` (default: its end) and types `text`, key by key. */
  async typeInCard(index: number, text: string, at?: number): Promise<void> {
    await this.placeCaret(index, at);
    await this.page.locator(CARD_TEXT).nth(index).pressSequentially(text);
  }

  /** Focuses a card's text (or the board name) and puts the caret at `offset` (default: the end). */
  async placeCaret(field: TextField, offset?: number): Promise<void> {
    const locator = this.textField(field);
    await locator.focus();
    await locator.evaluate((element, offset) => {
      const area = element as HTMLTextAreaElement | HTMLInputElement;
      const at = offset ?? area.value.length;
      area.setSelectionRange(at, at);
    }, offset);
  }

  /** A text field's selection as `[start, end]`, or null when the field does not have the focus. */
  caret(field: TextField): Promise<[number, number] | null> {
    return this.textField(field).evaluate(element => {
      const area = element as HTMLTextAreaElement | HTMLInputElement;
      return document.activeElement === area ? [area.selectionStart ?? -1, area.selectionEnd ?? -1] : null;
    });
  }

  /** Replaces a card's text. */
  setCard(index: number, text: string): Promise<void> {
    return this.page.locator(CARD_TEXT).nth(index).fill(text);
  }

  moveUp(index: number): Promise<void> {
    return this.page.locator('.card').nth(index).getByRole('button', { name: 'Move up' }).click();
  }

  deleteCard(index: number): Promise<void> {
    return this.page.locator('.card').nth(index).getByRole('button', { name: 'Delete card' }).click();
  }

  setName(name: string): Promise<void> {
    return this.page.locator('#settings input[name="name"]').fill(name);
  }

  setTheme(theme: 'light' | 'dark'): Promise<void> {
    return this.page.locator(`#settings input[name="theme"][value="${theme}"]`).check();
  }

  /** Ticks or unticks "Work offline". */
  workOffline(on: boolean): Promise<void> {
    return this.page.getByLabel('Work offline').setChecked(on);
  }

  private textField(field: TextField): Locator {
    return field === 'name' ? this.page.locator('#settings input[name="name"]') : this.page.locator(CARD_TEXT).nth(field);
  }

  private async waitFor(what: string, predicate: (arg: string[]) => boolean, arg: string[], actual: () => Promise<unknown>): Promise<void> {
    try {
      await this.page.waitForFunction(predicate, arg, { timeout: WAIT_MS, polling: 50 });
    } catch (error) {
      throw new Error(`${what}: waited for ${JSON.stringify(arg)}, the page shows ${JSON.stringify(await actual().catch(() => 'nothing'))}\n${(error as Error).message}`);
    }
  }
}

/** Fails unless `expected` appears in `log` in order (other labels may come between). */
export function expectInOrder(log: string[], expected: string[]): void {
  let at = 0;
  for (const label of log) if (label === expected[at]) at++;
  if (at < expected.length) throw new Error(`expected the labels ${JSON.stringify(expected)} in this order, the indicator showed ${JSON.stringify(log)}`);
}
