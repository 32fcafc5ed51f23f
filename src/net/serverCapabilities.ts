import type { ServerCapabilities } from '../types.js';

/** The method a patches-rx server answers with its `ServerCapabilities` (the reference answers -32000 "Unknown method"). */
export const CAPABILITIES_METHOD = 'getCapabilities';

/**
 * Reads a `getCapabilities` reply, keeping only what is well formed: a server that sends
 * something else (or nothing) is treated as one without the capability, never as one with it.
 *
 * @param value the reply's result
 * @return the capabilities the client may rely on
 */
export function readCapabilities(value: unknown): ServerCapabilities {
  if (typeof value !== 'object' || value === null) return {};
  const { batch, compactAck, catchUpSnapshot } = value as { batch?: { maxLength?: unknown }; compactAck?: unknown; catchUpSnapshot?: unknown };
  const capabilities: ServerCapabilities = {};
  const maxLength = typeof batch === 'object' && batch !== null ? batch.maxLength : undefined;
  if (typeof maxLength === 'number' && Number.isSafeInteger(maxLength) && maxLength > 1) capabilities.batch = { maxLength };
  if (compactAck === true) capabilities.compactAck = true;
  if (catchUpSnapshot === true) capabilities.catchUpSnapshot = true;
  return capabilities;
}
