import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { postedError, revivedError } from '../../src/net/postedError.js';
import { AuthError, NetworkError, PatchError, PatchesError, StatusError, StoreOutdatedError } from '../../src/errors.js';

/** What another tab makes of `error`: posted, structured-cloned as postMessage does, revived. */
const acrossTabs = (error: Error): Error => revivedError(structuredClone(postedError(error)));

describe('postedError / revivedError', () => {
  it('should bring an error across as its class in a minified bundle too (classes renamed)', () => {
    // What an app's production build does: the classes' own names are gone, the errors' names stay.
    const entry = `export { postedError, revivedError } from './net/postedError.ts'; export { AuthError, StatusError, StoreOutdatedError } from './errors.ts';`;
    const { outputFiles } = buildSync({ stdin: { contents: entry, resolveDir: join(__dirname, '../../src'), loader: 'ts' }, bundle: true, minify: true, format: 'cjs', write: false, logLevel: 'silent' });
    const bundled: { exports: Record<string, unknown> } = { exports: {} };
    new Function('module', 'exports', outputFiles[0].text)(bundled, bundled.exports);
    type ErrorClass = new (...args: unknown[]) => Error;
    const { postedError: post, revivedError: revive, AuthError: Auth, StatusError: Status, StoreOutdatedError: Outdated } = bundled.exports as Record<string, ErrorClass> & {
      postedError: typeof postedError;
      revivedError: typeof revivedError;
    };
    expect(Auth.name).not.toBe('AuthError');
    for (const error of [new Auth('refused', 4401), new Status(403, 'no'), new Outdated('app', 3, 4)]) {
      const revived = revive(structuredClone(post(error)));
      expect({ name: revived.name, sameClass: revived instanceof (error.constructor as ErrorClass) }).toEqual({ name: error.name, sameClass: true });
    }
  });

  it('should bring an error across as its class, with its message and typed fields', () => {
    const auth = acrossTabs(new AuthError('refused', 4401, { closeCode: 4401, closeReason: 'Unauthorized' }));
    expect(auth).toBeInstanceOf(AuthError);
    expect(auth).toBeInstanceOf(NetworkError);
    expect(auth).toMatchObject({ name: 'AuthError', message: 'refused', code: 4401, closeCode: 4401, closeReason: 'Unauthorized' });

    const status = acrossTabs(new StatusError(409, 'conflict', { rev: 3 }));
    expect(status).toBeInstanceOf(StatusError);
    expect(status).toMatchObject({ code: 409, message: 'conflict', data: { rev: 3 } });

    const outdated = acrossTabs(new StoreOutdatedError('app', 3, 4));
    expect(outdated).toBeInstanceOf(StoreOutdatedError);
    expect(outdated).toMatchObject({ dbName: 'app', version: 3, newVersion: 4 });
  });

  it('should keep the message as it was (a constructor that adds to it is not run again)', () => {
    const original = new PatchError('no such path', 2, '/a');
    expect(acrossTabs(original).message).toBe(original.message);
  });

  it('should make an error of a name it does not know a plain Error with that name', () => {
    const unknown = acrossTabs(Object.assign(new Error('later'), { name: 'FutureError' }));
    expect(unknown).not.toBeInstanceOf(PatchesError);
    expect(unknown).toMatchObject({ name: 'FutureError', message: 'later' });
    expect(acrossTabs(new TypeError('bad'))).toMatchObject({ name: 'TypeError', message: 'bad' });
  });

  it('should leave out what postMessage cannot carry, and the cause', () => {
    const error = Object.assign(new StatusError(500, 'boom', { reply: 'x' }), { callback: () => undefined });
    const posted = postedError(new PatchesError('outer', { cause: error }));
    expect(posted).toEqual({ error: 'outer', name: 'PatchesError', fields: {} });
    expect(postedError(error).fields).toEqual({ code: 500, data: { reply: 'x' } });
  });

  it('should still be read by a tab of an earlier version, which reads only the message', () => {
    expect(postedError(new NetworkError('unreachable')).error).toBe('unreachable');
  });
});
