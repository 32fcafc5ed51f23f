// Rounds of a FileServerStore child process (storeCrashChild.mjs) killed with SIGKILL at a random
// moment, each round's child recovering what the last one left and reporting every doc's log,
// checked against what the children before it acknowledged. Optionally a power cut after the
// kill (see powerCut.ts), from the syncs and cuts of segments and journal files the children reported.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cutAfter, powerCut, syncedAfter } from './powerCut.js';

const CHILD = join(__dirname, 'storeCrashChild.mjs');

/** What the checks expect of one doc: deleted, or its changes' ids in order. */
interface DocModel {
  deleted: boolean;
  ids: string[];
  /** The doc's last call, sent but not acknowledged when its child died: it may have happened or not. */
  pending?: Report;
}

interface Report {
  intent?: 'append' | 'delete' | 'undelete';
  ack?: 'append' | 'delete' | 'undelete';
  docId?: string;
  ids?: string[];
  synced?: string;
  cut?: string;
  size?: number;
  state?: Record<string, { deleted?: true; ids?: string[]; revs?: number[] }>;
  error?: string;
}

export interface CrashRoundsOptions {
  directory: string;
  /** Where each round's report file goes (`<dir>/round-<n>.jsonl`). */
  reports: string;
  rounds: number;
  docs: number;
  /** The kill comes at a random moment up to this long after the child started. */
  maxKillMs: number;
  /** Whether round `round` ends with a power cut after its kill. */
  powerCut: (round: number) => boolean;
  /** Told one line per round. */
  log?: (line: string) => void;
}

export interface CrashRoundsResult {
  /** Rounds whose child reported the state (got through recovery) before it was killed. */
  checked: number;
  acks: number;
  powerCuts: number;
}

/**
 * Runs the rounds; throws an Error naming the round, the doc, what was expected and what was
 * found at the first doc whose stored log breaks a promise (an acknowledged commit missing, one
 * twice or out of order, a deleted doc back, an error in a child).
 */
export async function runCrashRounds(options: CrashRoundsOptions): Promise<CrashRoundsResult> {
  const docs = Array.from({ length: options.docs }, (_, i) => `d${i}`);
  const model = new Map<string, DocModel>(docs.map((docId) => [docId, { deleted: false, ids: [] }]));
  const synced = new Map<string, number>();
  const result: CrashRoundsResult = { checked: 0, acks: 0, powerCuts: 0 };
  for (let round = 0; round <= options.rounds; round++) {
    const reportPath = join(options.reports, `round-${round}.jsonl`);
    // The last round only checks: its child is killed once it has reported.
    const killAfter = round === options.rounds ? undefined : Math.floor(Math.random() * options.maxKillMs);
    const how = await runChild(options.directory, reportPath, round, options.docs, killAfter);
    const reports = existsSync(reportPath)
      ? readFileSync(reportPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Report)
      : [];
    const error = reports.find((report) => report.error !== undefined);
    if (error) throw new Error(`round ${round}: the child failed: ${error.error}`);
    const stateAt = reports.findIndex((report) => report.state !== undefined);
    if (stateAt !== -1) {
      check(round, model, reports[stateAt].state!);
      result.checked += 1;
    } else if (how !== 'SIGKILL') {
      throw new Error(`round ${round}: the child exited (${how}) without reporting`);
    }
    let acks = 0;
    for (const report of reports) {
      if (report.synced !== undefined) syncedAfter(synced, report.synced, report.size!);
      if (report.cut !== undefined) cutAfter(synced, report.cut, report.size!);
      if (report.intent) model.get(report.docId!)!.pending = report;
      if (report.ack) {
        const doc = model.get(report.docId!)!;
        apply(doc, report);
        doc.pending = undefined;
        acks += 1;
      }
    }
    result.acks += acks;
    const cut = killAfter !== undefined && options.powerCut(round);
    if (cut) {
      powerCut(options.directory, synced);
      result.powerCuts += 1;
    }
    options.log?.(`round ${round}: killed ${killAfter ?? '-'} ms after its ${round % 4 === 2 ? 'start' : 'report'} (${how}), ${stateAt === -1 ? 'before its report' : 'checked'}, ${acks} acks${cut ? ', power cut' : ''}`);
    if (killAfter === undefined) break;
  }
  return result;
}

function apply(doc: DocModel, report: Report): void {
  const kind = report.ack ?? report.intent;
  if (kind === 'append') doc.ids.push(...report.ids!);
  else if (kind === 'delete') Object.assign(doc, { deleted: true, ids: [] });
  else Object.assign(doc, { deleted: false, ids: [] });
}

/** Checks what a child found after recovery against the model, then takes it as the model (a call in doubt is settled). */
function check(round: number, model: Map<string, DocModel>, state: NonNullable<Report['state']>): void {
  for (const [docId, doc] of model) {
    const found = state[docId];
    const actual = { deleted: found.deleted === true, ids: found.ids ?? [] };
    if (found.revs) {
      const contiguous = found.revs.every((rev, i) => rev === i + 1);
      if (!contiguous) throw new Error(`round ${round}, doc ${docId}: revs not contiguous: ${JSON.stringify(found.revs)}`);
    }
    const expected: DocModel[] = [{ deleted: doc.deleted, ids: [...doc.ids] }];
    if (doc.pending) {
      const done = { deleted: doc.deleted, ids: [...doc.ids] };
      apply(done, doc.pending);
      expected.push(done);
    }
    const same = (a: { deleted: boolean; ids: string[] }) => a.deleted === actual.deleted && JSON.stringify(a.ids) === JSON.stringify(actual.ids);
    if (!expected.some(same)) {
      throw new Error(`round ${round}, doc ${docId}: expected ${expected.map((e) => JSON.stringify(e)).join(' or ')}, found ${JSON.stringify(actual)}`);
    }
    Object.assign(doc, actual, { pending: undefined });
  }
}

/** Runs one child; kills it with SIGKILL `killAfter` ms after it started, or lets it exit once it reported (undefined). */
function runChild(directory: string, reportPath: string, round: number, docs: number, killAfter: number | undefined): Promise<number | string> {
  return new Promise((resolve) => {
    const args = [CHILD, directory, reportPath, String(round), String(docs), ...(killAfter === undefined ? ['check'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let timer: NodeJS.Timeout | undefined;
    const killLater = () => (timer = setTimeout(() => child.kill('SIGKILL'), killAfter));
    // One round in four is killed counting from the start (during recovery, often), the others from its report.
    if (killAfter !== undefined && round % 4 === 2) killLater();
    else if (killAfter !== undefined) child.stdout!.once('data', killLater);
    child.once('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (stderr) process.stderr.write(stderr);
      resolve(code ?? signal ?? -1);
    });
  });
}
