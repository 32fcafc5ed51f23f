/**
 * Which close codes the server may send, and what an `authorizeConnection` verdict closes with:
 * pure mappings, checked before any socket is touched (closing one is `closeWith`'s).
 *
 * @packageDocumentation
 */

/**
 * Whether a server may close a WebSocket with `code` (RFC 6455 §7.4): 1000–1003, 1007–1014, or
 * 3000–4999. `ws` throws on any other; 1004–1006 and 1015 are reserved and never sent.
 *
 * @param code the candidate close code
 * @return true when `socket.close(code)` accepts it
 */
export function isSendableCloseCode(code: unknown): code is number {
  if (typeof code !== 'number' || !Number.isInteger(code)) return false;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * The close reason a refusal goes with: `Unauthorized` for 4401, `Forbidden` for 4403, else
 * `fallback`. Shared by the verdicts and `closeConnections`, so a client reads the same words.
 *
 * @param code the close code
 * @param fallback the reason of any other code
 */
export function refusalReason(code: number, fallback: string): string {
  return code === 4403 ? 'Forbidden' : code === 4401 ? 'Unauthorized' : fallback;
}

/** How a connection refused by `authorizeConnection` is closed, and whether the verdict was a mistake to report. */
export interface Refusal {
  /** The close code. */
  code: number;
  /** The close reason. */
  reason: string;
  /** The verdict was neither a boolean nor a close code an app may refuse with: a misconfiguration. */
  misconfigured: boolean;
}

/**
 * The close a refusing `authorizeConnection` verdict earns. 1008 and 3000–4999 are used as they
 * are; 401 and 403 (HTTP statuses, an easy slip for "return a close code") mean 4401 and 4403;
 * `false` and anything else refuse with 4401, and a value that is not `false` is a misconfiguration.
 *
 * ## Example
 * ```ts
 * refusalOf(403); // { code: 4403, reason: 'Forbidden', misconfigured: false }
 * refusalOf(1005); // { code: 4401, reason: 'Unauthorized', misconfigured: true }
 * ```
 *
 * @param verdict what the hook answered (anything but `true`)
 * @return the close code and reason, and whether to report the verdict
 */
export function refusalOf(verdict: unknown): Refusal {
  const code = verdict === 401 ? 4401 : verdict === 403 ? 4403 : verdict;
  if (code === 1008 || (typeof code === 'number' && Number.isInteger(code) && code >= 3000 && code <= 4999)) {
    return { code, reason: refusalReason(code, 'Refused'), misconfigured: false };
  }
  return { code: 4401, reason: refusalReason(4401, 'Refused'), misconfigured: verdict !== false };
}
