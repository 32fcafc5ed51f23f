import { StatusError } from '../../../errors.js';

/** Socket and name-lookup errors of a database that cannot be reached or went away. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether `code` (an error's `code`) is a socket or name-lookup error: the database cannot be reached. */
export function isNetworkCode(code: unknown): code is string {
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
/** SQLSTATEs of a server shutting down (admin, crash, fast stop) or not accepting connections yet; class 08 is checked apart. */
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);
/** What node-postgres says, without a code, when a connection ends, none comes in time, or a query gets no answer. */
const DRIVER_MESSAGES: ReadonlyArray<[RegExp, string]> = [
  [/^Connection terminated/, 'connection terminated'],
  [/^timeout exceeded when trying to connect/, 'no connection in time'],
  [/^Query read timeout/, 'no answer in time'],
  [/not queryable/, 'connection lost'],
];

/**
 * Why `error` means the database could not be reached or went away (a restart, a failover, a
 * network fault), or `undefined` for any other fault. Looks at the error and its causes.
 *
 * @example
 * connectionFault(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })); // '57P01'
 */
export function connectionFault(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (isNetworkCode(code) || (typeof code === 'string' && (SHUTDOWN_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)))) return code;
    const known = DRIVER_MESSAGES.find(([pattern]) => pattern.test(current instanceof Error ? current.message : ''));
    if (known) return known[1];
  }
  return undefined;
}

/**
 * `error` as the server answers it: a database that cannot be reached is a retryable 503
 * `{ scope: 'doc' }` (a client tries the doc again quietly, as for a server restarting), not
 * the -32000 "Server error" of a fault; any other error as it is.
 */
export function unavailable(error: unknown): unknown {
  const fault = connectionFault(error);
  if (fault === undefined) return error;
  // The driver's error stays as the cause, for the server's error log.
  return new StatusError(503, `The database is unavailable (${fault}); retry`, { scope: 'doc' }, { cause: error });
}

/** `work`, with a connection fault answered as `unavailable` says. */
export function orUnavailable<R>(work: Promise<R>): Promise<R> {
  return work.catch((error: unknown) => Promise.reject(unavailable(error)));
}
