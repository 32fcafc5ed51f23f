import type { ServerCapabilities } from '../types.js';

export { CAPABILITIES_METHOD } from '../net/serverCapabilities.js';

/**
 * What this server answers to `getCapabilities`: batch arrays up to `maxBatchLength` requests,
 * compact acknowledgements of own changes in `commitChanges` replies, and an OT catch-up answered
 * by a snapshot when that is smaller (`getChangesSince` with `{ orSnapshot: true }`).
 *
 * A client must never send a batch array or ask for compact acks before a server said so: the
 * @dabble/patches server answers a batch with -32600 and this method with -32000 "Unknown
 * method", which tells the client to keep to one request per frame and full echoes.
 *
 * @param maxBatchLength the most requests the server answers in one batch array
 * @return the `getCapabilities` result
 */
export function serverCapabilities(maxBatchLength: number): ServerCapabilities {
  return { batch: { maxLength: maxBatchLength }, compactAck: true, catchUpSnapshot: true };
}
