import { StoreError } from '../../../errors.js';
import { errorName } from '../../../util/errorName.js';
import { isNetworkCode } from './unavailable.js';

/**
 * The PostgreSQL store could not start: the database is unreachable, refuses the login, does
 * not exist, or the role may not create the schema. The message is one line saying which and
 * where (password removed), so a CLI can print it as is; the driver's error is the `cause`.
 */
export class PostgresStartupError extends StoreError {
  override name = errorName(this, PostgresStartupError, 'PostgresStartupError');
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, undefined, options);
  }
}

/**
 * Turns a driver or network error met while connecting or migrating into a
 * {@link PostgresStartupError} with a one-line explanation.
 *
 * @param error what `pg` threw
 * @param connectionString where it tried to connect
 */
export function startupError(error: unknown, connectionString: string): PostgresStartupError {
  const where = redact(connectionString);
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  let reason: string;
  switch (code) {
    case '28P01':
    case '28000':
      reason = `the database refused the login: ${text}`;
      break;
    case '3D000':
      reason = `the database does not exist: ${text}`;
      break;
    case '42501':
      reason = `the role lacks the rights to create or use the patches_rx tables (grant it CREATE and USAGE on the schema, or run the first start as the owner): ${text}`;
      break;
    default:
      if (isNetworkCode(code)) reason = `cannot reach the database (${code})`;
      else reason = /timeout/i.test(text) ? `cannot reach the database (connection timed out)` : `the database failed: ${text}`;
  }
  return new PostgresStartupError(`PostgreSQL at ${where}: ${reason}`, { cause: error });
}

/**
 * Query parameters of a connection string that hold a secret: node-postgres takes `password` as
 * the password (as libpq does), and `sslpassword` is libpq's passphrase of the client key.
 */
const SECRET_PARAMS = ['password', 'sslpassword'];

/**
 * The connection string without its password, given after the user or in the query
 * (`?password=`), for a log line or an error message; one that is no URL is not shown at all.
 *
 * @example
 * redact('postgres://app:secret@db.internal/patches'); // 'postgres://app:***@db.internal/patches'
 */
export function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    for (const key of SECRET_PARAMS) if (url.searchParams.has(key)) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return '(unparsable connection string)';
  }
}
