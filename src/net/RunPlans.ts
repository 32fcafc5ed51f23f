import { defer, finalize, from, type Observable } from 'rxjs';
import type { ClientAlgorithm } from '../client/ClientAlgorithm.js';
import type { PlannedBatch } from './DocSync.js';

/** A run's window before it plans what it sends: whether an edit was saved in it. */
interface PlanWindow {
  edited: boolean;
}

/** What `RunPlans` plans through, given by `PatchesSync`. */
export interface RunPlansOptions {
  /** Runs `task` in the doc's serial queue, after the store steps queued before it (`Patches.runExclusive`). */
  runExclusive<R>(docId: string, task: () => Promise<R>): Promise<R>;
  /** Whether the open doc holds edits `change()` made whose saves have not run yet (`hasUnsavedEdits`). */
  unsaved(docId: string): boolean;
  /** The batches that send what the doc has pending (`DocSync.pendingBatches`). */
  pendingBatches(docId: string, algorithm: ClientAlgorithm): Promise<PlannedBatch[]>;
  /** Asks for a sync run of the doc. */
  requestSync(docId: string): void;
}

/**
 * The batches each doc's sync run sends, planned in the doc's queue. Edits `change()` made before
 * the plan's turn came whose saves wait behind it in that queue (made just after the save that
 * asked for this run: an app's next edit in the same task) would each need a commit of their own
 * after this one (a follow-up run, another round trip and another durable write on the server):
 * the plan steps behind them once, so they go out in this commit. Once only: a stream of edits
 * cannot hold the send back. An edit saved before the plan is taken is in it, so its save asks
 * for no follow-up run (`tookEdit`); a plan that fails, or a run that ends before it planned,
 * asks for it then.
 *
 * @example
 * const plans = new RunPlans({ runExclusive, unsaved, pendingBatches, requestSync });
 * plans.planned$('notes', algorithm).subscribe(batches => send(batches));
 * plans.tookEdit('notes'); // an edit saved now: true while that run has not planned yet
 */
export class RunPlans {
  /** Per doc, the window of its run before the run planned what it sends. */
  private readonly windows = new Map<string, PlanWindow>();

  constructor(private readonly options: RunPlansOptions) {}

  /** Opens the doc's run's window and emits the batches the run sends, planned once the window's edits are saved. */
  planned$(docId: string, algorithm: ClientAlgorithm): Observable<PlannedBatch[]> {
    return defer(() => {
      const plan: PlanWindow = { edited: false };
      this.windows.set(docId, plan);
      // A run ended or failed before it planned: an edit it took the follow-up from asks for one now.
      return from(this.plannedBatches(docId, algorithm, plan)).pipe(finalize(() => this.endWindow(docId, plan)));
    });
  }

  /** An edit of the doc was saved: true when a run that has not planned yet will send it (no follow-up run needed). */
  tookEdit(docId: string): boolean {
    const plan = this.windows.get(docId);
    if (plan) plan.edited = true;
    return plan !== undefined;
  }

  private async plannedBatches(docId: string, algorithm: ClientAlgorithm, plan: PlanWindow): Promise<PlannedBatch[]> {
    const planNow = async (): Promise<PlannedBatch[]> => {
      this.closeWindow(docId, plan);
      try {
        return await this.options.pendingBatches(docId, algorithm);
      } catch (error) {
        // Not planned after all: the edits saved in the window get the follow-up run their saves would have asked for.
        if (plan.edited) this.options.requestSync(docId);
        throw error;
      }
    };
    const planned = await this.options.runExclusive(docId, async () => (this.options.unsaved(docId) ? undefined : planNow()));
    return planned ?? this.options.runExclusive(docId, planNow);
  }

  /** Closes a run's plan window; true when it was still open. */
  private closeWindow(docId: string, plan: PlanWindow): boolean {
    if (this.windows.get(docId) !== plan) return false;
    this.windows.delete(docId);
    return true;
  }

  /** A run that ends without planning (stopped): an edit saved in its window asks for the run its save would have. */
  private endWindow(docId: string, plan: PlanWindow): void {
    if (this.closeWindow(docId, plan) && plan.edited) this.options.requestSync(docId);
  }
}
