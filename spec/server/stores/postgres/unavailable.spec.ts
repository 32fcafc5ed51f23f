import { StatusError } from '../../../../src/errors.js';
import { connectionFault, unavailable } from '../../../../src/server/stores/postgres/unavailable.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('unavailable', () => {
  it('should recognise a database that cannot be reached or went away, by socket code, SQLSTATE, driver message or cause', () => {
    expect(connectionFault(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(connectionFault(withCode('read ECONNRESET', 'ECONNRESET'))).toBe('ECONNRESET');
    expect(connectionFault(withCode('terminating connection due to administrator command', '57P01'))).toBe('57P01');
    expect(connectionFault(withCode('the database system is starting up', '57P03'))).toBe('57P03');
    expect(connectionFault(withCode('connection failure', '08006'))).toBe('08006');
    expect(connectionFault(new Error('Connection terminated unexpectedly'))).toBe('connection terminated');
    expect(connectionFault(new Error('timeout exceeded when trying to connect'))).toBe('no connection in time');
    expect(connectionFault(new Error('Query read timeout'))).toBe('no answer in time');
    expect(connectionFault(new Error('PostgreSQL at postgres://…: cannot reach the database', { cause: withCode('x', 'ECONNREFUSED') }))).toBe('ECONNREFUSED');
  });

  it('should leave every other error as it is', () => {
    const others = [withCode('duplicate key value violates unique constraint', '23505'), withCode('canceling statement due to statement timeout', '57014'), new Error('boom'), 'text'];
    for (const error of others) {
      expect(connectionFault(error)).toBeUndefined();
      expect(unavailable(error)).toBe(error);
    }
  });

  it('should answer a retryable 503 scoped to the doc for a connection fault', () => {
    const error = unavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'));
    expect(error).toBeInstanceOf(StatusError);
    expect(error).toMatchObject({ code: 503, message: 'The database is unavailable (ECONNREFUSED); retry', data: { scope: 'doc' } });
  });
});
