import { EMPTY, VirtualTimeScheduler, lastValueFrom, of, throwError } from 'rxjs';
import type { ClientAlgorithm } from '../../src/client/ClientAlgorithm.js';
import { ApplyChangesError, DocNotTrackedError, MissingChangesError, NetworkError, StatusError, StoreOutdatedError, TimeoutError } from '../../src/errors.js';
import { ChangeBudgets } from '../../src/net/ChangeBudgets.js';
import { DocFailures, type DocFailuresOptions } from '../../src/net/DocFailures.js';
import { DocRetries } from '../../src/net/DocRetries.js';
import { SyncedDocs } from '../../src/net/SyncedDocs.js';

const algorithm = {} as ClientAlgorithm;

/** A doc 'syncing' with an edit pending, the failures of its runs handled, and what they did recorded. */
function setup(overrides: Partial<DocFailuresOptions> = {}) {
  const scheduler = new VirtualTimeScheduler();
  const requested: string[] = [];
  const reported: unknown[] = [];
  const reportedAlways: unknown[] = [];
  const steps: string[] = [];
  const docs = new SyncedDocs();
  docs.put({ doc: { committedRev: 3, hasPending: true, status: 'syncing' } });
  const retries = new DocRetries(docId => requested.push(`retry ${docId}`), scheduler, () => 1);
  const budgets = new ChangeBudgets(1_000_000);
  const failures = new DocFailures({
    docs,
    retries,
    budgets,
    algorithmOf: () => algorithm,
    catchUp$: () => (steps.push('catchUp'), EMPTY),
    reload$: () => (steps.push('reload'), EMPTY),
    deleted$: docId => of(`deleted ${docId}`),
    requestSync: docId => requested.push(docId),
    report: error => reported.push(error),
    reportAlways: error => reportedAlways.push(error),
    ...overrides,
  });
  const handle = (error: unknown): Promise<unknown> => lastValueFrom(failures.handle$('doc', error), { defaultValue: undefined });
  return { scheduler, requested, reported, reportedAlways, steps, docs, retries, budgets, failures, handle };
}

describe('DocFailures', () => {
  it('should cut a change refused as too large finer and ask for a run at once, reporting nothing', async () => {
    const { requested, reported, docs, budgets, handle } = setup();
    await handle(new StatusError(413, 'too large', { scope: 'change', changeId: 'c1' }));
    expect(requested).toEqual(['doc']);
    expect(budgets.of('doc')).toBe(500_000);
    expect(reported).toEqual([]);
    expect(docs.get('doc')?.status).toBe('syncing');
  });

  it('should only settle the doc on a lost connection: the next one resyncs it', async () => {
    const { requested, reported, docs, retries, handle } = setup();
    await handle(new NetworkError('closed'));
    expect(docs.get('doc')?.status).toBe('synced');
    expect([requested, reported, retries.has('doc')]).toEqual([[], [], false]);
  });

  it('should retry a transient failure quietly until the quick retries are used up, then say so once', async () => {
    const { reported, reportedAlways, docs, retries, handle } = setup();
    const timeout = new TimeoutError('no reply');
    for (let i = 0; i < 10; i++) await handle(timeout);
    expect(docs.get('doc')?.status).toBe('synced');
    expect(reportedAlways).toEqual([]);
    await handle(timeout);
    expect(docs.get('doc')?.status).toBe('error');
    expect(reportedAlways).toEqual([timeout]);
    await handle(timeout);
    expect(reportedAlways).toEqual([timeout]);
    expect(reported).toEqual([]);
    expect(retries.has('doc')).toBe(true);
  });

  it('should go the remote-delete way for a 410, and drop the retries of a doc no longer tracked', async () => {
    const { retries, handle } = setup();
    expect(await handle(new StatusError(410, 'gone'))).toBe('deleted doc');
    retries.schedule('doc');
    await handle(new DocNotTrackedError('doc', false));
    expect(retries.has('doc')).toBe(false);
  });

  it('should report a gap and pull what is missing, then ask for a run; a pull that fails is reported', async () => {
    const { requested, reported, steps, docs, handle } = setup();
    const gap = new MissingChangesError(5, 7, 4);
    await handle(gap);
    expect([docs.get('doc')?.status, steps, requested, reported]).toEqual(['error', ['catchUp'], ['doc'], [gap]]);
    const failing = setup({ catchUp$: () => throwError(() => new StatusError(500, 'down')) });
    await failing.handle(gap);
    expect(failing.requested).toEqual([]);
    expect(failing.reported.map(e => (e as Error).message)).toEqual([gap.message, 'down']);
  });

  it('should reload a doc whose committed change will not apply, reporting it once per connection, and retry a reload that fails so', async () => {
    const { requested, reported, steps, failures, handle } = setup();
    const wontApply = new ApplyChangesError('c1', 4);
    await handle(wontApply);
    await handle(wontApply);
    expect([steps, requested, reported]).toEqual([['reload', 'reload'], ['doc', 'doc'], [wontApply]]);
    failures.disconnected();
    await handle(wontApply);
    expect(reported).toEqual([wontApply, wontApply]);
    const failing = setup({ reload$: () => throwError(() => new ApplyChangesError('c2', 5)) });
    await failing.handle(wontApply);
    expect([failing.requested, failing.retries.has('doc')]).toEqual([[], true]);
  });

  it('should report what retrying may fix once per streak and retry it with the doc backoff', async () => {
    const { scheduler, requested, reported, docs, retries, handle } = setup();
    const down = new StatusError(500, 'down');
    await handle(down);
    await handle(down);
    expect([docs.get('doc')?.status, reported, retries.has('doc')]).toEqual(['error', [down], true]);
    scheduler.flush();
    expect(requested).toEqual(['retry doc']);
  });

  it('should report what retrying cannot fix once per doc, kind and code on a connection, probing the edits again later', async () => {
    const { reported, retries, failures, handle } = setup();
    const forbidden = new StatusError(403, 'no');
    await handle(forbidden);
    await handle(new StatusError(403, 'no again'));
    expect(reported).toEqual([forbidden]);
    expect(retries.has('doc')).toBe(true); // the probe: an edit is pending
    const missing = new StatusError(404, 'not found');
    await handle(missing);
    expect(reported).toEqual([forbidden, missing]);
    failures.forget('doc');
    await handle(forbidden);
    expect(reported).toEqual([forbidden, missing, forbidden]);
  });

  it('should retry a failed read after a run, reported once per streak, and throw any error the policy does not retry', () => {
    const { reported, retries, failures } = setup();
    const down = new StatusError(500, 'down');
    failures.retryRead('doc', down);
    failures.retryRead('doc', down);
    expect([reported, retries.has('doc')]).toEqual([[down], true]);
    const outdated = new StoreOutdatedError('db', 4);
    expect(() => failures.retryRead('doc', outdated)).toThrow(outdated);
  });
});
