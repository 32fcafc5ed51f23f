import fc from 'fast-check';
import { join } from 'node:path';
import { StoreError } from '../../../../src/errors.js';
import { PostgresStartupError, redact, startupError } from '../../../../src/server/stores/postgres/PostgresStartupError.js';
import { minifiedErrorName } from '../../../helpers/minifiedErrorClasses.js';

const URL_ = 'postgres://app:secret@db.internal:5432/patches';
const WHERE = 'PostgreSQL at postgres://app:***@db.internal:5432/patches';
/** An error as node-postgres gives it: a message, and a SQLSTATE or socket code. */
const driverError = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('PostgresStartupError', () => {
  it('should be a StoreError about no doc, carrying the cause', () => {
    const cause = driverError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');
    const error = new PostgresStartupError('PostgreSQL at …: cannot reach the database (ECONNREFUSED)', { cause });
    expect({ name: error.name, message: error.message, docId: error.docId }).toEqual({ name: 'PostgresStartupError', message: 'PostgreSQL at …: cannot reach the database (ECONNREFUSED)', docId: undefined });
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(StoreError);
  });

  it('should name a subclass after itself, and keep its own name in a minified bundle', () => {
    class DeployError extends PostgresStartupError {}
    expect(new DeployError('m').name).toBe('DeployError');
    expect(minifiedErrorName(join(__dirname, '../../../../src/server/stores/postgres/PostgresStartupError.ts'), 'm')).toEqual({ exported: ['PostgresStartupError'], renamed: true, name: 'PostgresStartupError' });
  });
});

describe('startupError', () => {
  it.each<[string, unknown, string]>([
    ['a refused password (28P01)', driverError('password authentication failed for user "app"', '28P01'), 'the database refused the login: password authentication failed for user "app"'],
    ['a refused login (28000)', driverError('no pg_hba.conf entry for host "10.0.0.5", user "app", database "patches", no encryption', '28000'), 'the database refused the login: no pg_hba.conf entry for host "10.0.0.5", user "app", database "patches", no encryption'],
    ['a missing database (3D000)', driverError('database "patches" does not exist', '3D000'), 'the database does not exist: database "patches" does not exist'],
    [
      'missing rights (42501)',
      driverError('permission denied for schema public', '42501'),
      'the role lacks the rights to create or use the patches_rx tables (grant it CREATE and USAGE on the schema, or run the first start as the owner): permission denied for schema public',
    ],
    ['a refused connection', driverError('connect ECONNREFUSED 10.0.0.9:5432', 'ECONNREFUSED'), 'cannot reach the database (ECONNREFUSED)'],
    ['a host not found', driverError('getaddrinfo ENOTFOUND db.internal', 'ENOTFOUND'), 'cannot reach the database (ENOTFOUND)'],
    ['a socket timeout', driverError('connect ETIMEDOUT 10.0.0.9:5432', 'ETIMEDOUT'), 'cannot reach the database (ETIMEDOUT)'],
    ["node's AggregateError of every address refused (no message of its own)", Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' }), 'cannot reach the database (ECONNREFUSED)'],
    ["the driver's connection timeout", driverError('Connection terminated due to connection timeout'), 'cannot reach the database (connection timed out)'],
    ["the pool's connection timeout", driverError('timeout exceeded when trying to connect'), 'cannot reach the database (connection timed out)'],
    ['any other driver error', driverError('Connection terminated unexpectedly'), 'the database failed: Connection terminated unexpectedly'],
    ['another SQLSTATE', driverError('the database system is starting up', '57P03'), 'the database failed: the database system is starting up'],
    ['a thrown string', 'boom', 'the database failed: boom'],
    ['a thrown null', null, 'the database failed: null'],
  ])('should explain %s in one line, saying where', (_case, thrown, reason) => {
    const error = startupError(thrown, URL_);
    expect(error).toBeInstanceOf(PostgresStartupError);
    expect(error.message).toBe(`${WHERE}: ${reason}`);
    expect(error.message).not.toContain('\n');
    expect(error.cause).toBe(thrown);
  });

  it('should never show the password', () => {
    const error = startupError(driverError('password authentication failed for user "app"', '28P01'), 'postgres://app@db.internal/patches?password=hunter2');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('redact', () => {
  const UNPARSABLE = '(unparsable connection string)';
  it.each([
    ["with the user's password hidden", 'postgres://app:secret@db.internal:5432/patches', 'postgres://app:***@db.internal:5432/patches'],
    ['with a password given in the query hidden (node-postgres logs in with it)', 'postgres://app@db.internal/patches?password=secret', 'postgres://app@db.internal/patches?password=***'],
    ["with libpq's key passphrase in the query hidden", 'postgres://app@db.internal/patches?sslmode=require&sslpassword=secret', 'postgres://app@db.internal/patches?sslmode=require&sslpassword=***'],
    ['with both passwords hidden', 'postgresql://app:one@db.internal/patches?password=two', 'postgresql://app:***@db.internal/patches?password=***'],
    ['with no password as it is', 'postgres://app@db.internal:5432/patches', 'postgres://app@db.internal:5432/patches'],
    ['with no user as it is', 'postgres://db.internal/patches', 'postgres://db.internal/patches'],
    ['with other query parameters as it is', 'postgres://app@db.internal/patches?sslmode=require&application_name=board', 'postgres://app@db.internal/patches?sslmode=require&application_name=board'],
    ['of a Unix socket path not at all (no URL)', '/var/run/postgresql patches', UNPARSABLE],
    ['of a relative URL not at all', '//app:secret@db.internal/patches', UNPARSABLE],
    ['of keywords and values not at all', 'host=db.internal password=secret', UNPARSABLE],
  ])('should show a connection string %s', (_case, connectionString, shown) => {
    expect(redact(connectionString)).toBe(shown);
  });

  it('should hide any password, wherever it is given, and keep the rest', () => {
    const password = fc.string({ minLength: 1 }).map(encodeURIComponent);
    fc.assert(
      fc.property(password, password, fc.boolean(), (inUser, inQuery, both) => {
        const given = `postgres://app:${inUser}@db.internal:5432/patches${both ? `?password=${inQuery}` : ''}`;
        expect(redact(given)).toBe(`postgres://app:***@db.internal:5432/patches${both ? '?password=***' : ''}`);
      }),
    );
  });
});
