import type { Steps } from '../../util/steps.js';

/** How long one slice of a commit's work may hold the event loop before other requests get a turn. */
export const SLICE_MS = 10;

/**
 * Runs `steps` in slices of about `sliceMs` of the event loop, giving the loop a turn between
 * them (`setImmediate`: timers and sockets, other documents' requests and other clients' frames,
 * are served), and resolves with its result. The work is the same as `runToEnd`'s and so is its
 * result; only its pauses differ. Whoever runs it keeps whatever must not change meanwhile (the
 * document's lock, for a commit).
 *
 * @example
 * const transformed = await runSliced(transformIncomingChangesSteps(committedSince, queue, isOwn));
 */
export async function runSliced<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let until = performance.now() + sliceMs;
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() < until) continue;
    await new Promise<void>((resolve) => setImmediate(resolve));
    until = performance.now() + sliceMs;
  }
}
