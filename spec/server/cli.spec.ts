import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { parseCliArgs, runCli, USAGE } from '../../src/server/cli.js';
import { documentDirectory, segmentName } from '../../src/server/stores/docFiles.js';
import type { CommitChangesResult } from '../../src/types.js';
import { connectClient } from '../helpers/wsClient.js';
import { change, resultOf } from '../helpers/testServer.js';
import { fakeCliEnvironment } from '../helpers/fakeCliEnvironment.js';

describe('parseCliArgs', () => {
  it('should fill in the defaults', () => {
    expect(parseCliArgs([])).toEqual({ port: 8787, host: '127.0.0.1', dataDir: './data', memory: false, lwwPrefix: 'lww', shutdownTimeoutMs: 20_000, help: false });
  });

  it('should read every flag, in both --flag value and --flag=value forms', () => {
    expect(parseCliArgs(['--port', '0', '--host=0.0.0.0', '-d', '/srv/docs', '--lww-prefix', 'kv-', '--snapshot-every=50', '--max-change-bytes', '2048', '--memory'])).toEqual({
      port: 0,
      host: '0.0.0.0',
      dataDir: '/srv/docs',
      memory: true,
      lwwPrefix: 'kv-',
      snapshotEvery: 50,
      maxChangeBytes: 2048,
      shutdownTimeoutMs: 20_000,
      help: false,
    });
    expect(parseCliArgs(['--shutdown-timeout', '0'])).toMatchObject({ shutdownTimeoutMs: 0 });
    expect(parseCliArgs(['--max-transform-work=5000'])).toMatchObject({ maxTransformWork: 5000 });
    expect(parseCliArgs(['--max-transform-work', '0'])).toMatchObject({ maxTransformWork: 0 });
    expect(parseCliArgs(['--lww-prefix='])).toMatchObject({ lwwPrefix: '' });
    expect(parseCliArgs(['--compression', 'large'])).toMatchObject({ compression: 'large' });
    expect(parseCliArgs(['--compression=off'])).toMatchObject({ compression: 'off' });
  });

  it('should refuse unknown flags, missing values and bad numbers', () => {
    expect(() => parseCliArgs(['--verbose'])).toThrow('unknown option --verbose');
    expect(() => parseCliArgs(['--port'])).toThrow('--port needs a value');
    expect(() => parseCliArgs(['--port', '99999'])).toThrow('--port must be an integer from 0 to 65535');
    expect(() => parseCliArgs(['--snapshot-every', '0'])).toThrow('--snapshot-every must be an integer');
    expect(() => parseCliArgs(['--data='])).toThrow('--data needs a value');
    expect(() => parseCliArgs(['--compression', 'fast'])).toThrow('--compression must be all, large or off (got "fast")');
    expect(() => parseCliArgs(['--memory', '--database-url', 'postgres://db/x'])).toThrow('--database-url and --memory exclude each other');
    expect(() => parseCliArgs(['--pool-size', '0'])).toThrow('--pool-size must be an integer from 1');
  });

  it('should take PORT and HOST from the environment for flags not given, the flags winning', () => {
    expect(parseCliArgs([], { port: '8080', host: '0.0.0.0' })).toMatchObject({ port: 8080, host: '0.0.0.0' });
    expect(parseCliArgs(['--port', '9000', '--host=::1'], { port: '8080', host: '0.0.0.0' })).toMatchObject({ port: 9000, host: '::1' });
    expect(parseCliArgs([], { port: '', host: '' })).toMatchObject({ port: 8787, host: '127.0.0.1' });
    expect(() => parseCliArgs([], { port: 'http' })).toThrow('PORT must be an integer from 0 to 65535 (got "http")');
  });

  it('should refuse --database-url with --data, rather than ignore one of them', () => {
    expect(() => parseCliArgs(['--data', './data', '--database-url', 'postgres://db/x'])).toThrow('--database-url and --data exclude each other');
  });

  it('should read the PostgreSQL flags', () => {
    expect(parseCliArgs(['--database-url=postgres://app@db/patches', '--pool-size', '20', '--statement-timeout', '0'])).toMatchObject({
      databaseUrl: 'postgres://app@db/patches',
      poolSize: 20,
      statementTimeoutMs: 0,
    });
  });
});

describe('runCli', () => {
  it('should print the usage for --help and exit 2 on a usage error', async () => {
    const help = fakeCliEnvironment();
    expect(await runCli(['--help'], help.env)).toBeUndefined();
    expect(help.out).toEqual([USAGE]);
    const bad = fakeCliEnvironment();
    expect(await runCli(['--nope'], bad.env)).toBeUndefined();
    expect(await bad.exit).toBe(2);
    expect(bad.err[0]).toContain('unknown option --nope');
  });

  it('should serve a durable store with the LWW prefix rule and close gracefully on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'patches-rx-cli-'));
    try {
      const proc = fakeCliEnvironment();
      const server = await runCli(['--port', '0', '--data', dataDir, '--lww-prefix', 'kv-'], proc.env);
      if (!server) throw new Error('server did not start');
      expect(proc.out[0]).toBe(`patches-rx server listening on ${server.url} (data in ${dataDir}; ids starting with "kv-" are LWW)`);
      const client = await connectClient(server.url);
      expect(resultOf(await client.call('getDoc', ['kv-settings']))).toEqual({ state: {}, rev: 0, changes: [] });
      expect(resultOf(await client.call('getDoc', ['lww-is-ot-here']))).toEqual({ state: null, rev: 0, changes: [] });
      resultOf<CommitChangesResult>(await client.call('commitChanges', ['notes', [change('c1', 0, [{ op: 'replace', path: '/a', value: 1 }])]]));
      proc.signal('SIGTERM');
      expect(await proc.exit).toBe(0);
      expect(await client.closed).toBe(1001);

      const again = fakeCliEnvironment();
      const restarted = await runCli(['--port', '0', '--data', dataDir], again.env);
      if (!restarted) throw new Error('server did not restart');
      const reader = await connectClient(restarted.url);
      expect(resultOf<{ changes: unknown[] }>(await reader.call('getDoc', ['notes'])).changes).toHaveLength(1);
      again.signal('SIGINT');
      expect(await again.exit).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('should say every doc is OT with --lww-prefix "", and make none LWW', async () => {
    const proc = fakeCliEnvironment();
    const server = await runCli(['--port', '0', '--memory', '--lww-prefix', ''], proc.env);
    if (!server) throw new Error('server did not start');
    expect(proc.out).toEqual([`patches-rx server listening on ${server.url} (in memory; every doc is OT)`]);
    const client = await connectClient(server.url);
    // An OT doc starts as null, an LWW doc as {} (see the spec above).
    expect(resultOf(await client.call('getDoc', ['lww-settings']))).toEqual({ state: null, rev: 0, changes: [] });
    await client.close();
    await server.close();
  });

  it('should negotiate permessage-deflate as --compression says', async () => {
    const negotiated = async (argv: string[]): Promise<string> => {
      const proc = fakeCliEnvironment();
      const server = await runCli(['--port', '0', '--memory', ...argv], proc.env);
      if (!server) throw new Error('server did not start');
      const socket = new WebSocket(server.url);
      let extensions = '';
      socket.once('upgrade', (response) => (extensions = String(response.headers['sec-websocket-extensions'] ?? '')));
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      socket.close();
      await server.close();
      return extensions;
    };
    const large = await negotiated([]);
    expect(large).toContain('server_no_context_takeover');
    expect(await negotiated(['--compression', 'large'])).toBe(large);
    expect((await negotiated(['--compression', 'all'])).split('; ').sort()).toEqual(['client_max_window_bits=12', 'permessage-deflate', 'server_max_window_bits=12']);
    expect(await negotiated(['--compression', 'off'])).toBe('');
  });

  it('should exit 1 with one line when the data directory cannot be used (a file in its place)', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'patches-rx-cli-'));
    try {
      const file = join(parent, 'a-file');
      await writeFile(file, '');
      const proc = fakeCliEnvironment();
      expect(await runCli(['--port', '0', '--data', file], proc.env)).toBeUndefined();
      expect(await proc.exit).toBe(1);
      expect(proc.out).toEqual([]);
      // One line, no stack: the path, then the cause.
      expect(proc.err).toEqual([expect.stringMatching(/^patches-rx-server: cannot start: data directory \S+: ENOTDIR: not a directory, [^\n]+$/)]);
      expect(proc.err[0]).toContain(file);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('should answer GET /healthz with its counters, and other plain requests 426', async () => {
    const proc = fakeCliEnvironment();
    const server = await runCli(['--port', '0', '--memory'], proc.env);
    if (!server) throw new Error('server did not start');
    const http = server.url.replace('ws:', 'http:');
    const client = await connectClient(server.url);
    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toBe('application/json');
    expect(await health.json()).toEqual({ ok: true, connections: 1, subscriptions: 0 });
    expect((await fetch(`${http}/`)).status).toBe(426);
    expect((await fetch(`${http}/healthz`, { method: 'POST' })).status).toBe(426);
    await client.close();
    proc.signal('SIGTERM');
    expect(await proc.exit).toBe(0);
  });

  // Found in review: a corrupt doc answered every call with an error and stderr stayed empty.
  it('should print a store fault to stderr on one line, once per doc however often it is asked for', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'patches-rx-cli-'));
    try {
      const first = fakeCliEnvironment();
      const server = await runCli(['--port', '0', '--data', dataDir], first.env);
      if (!server) throw new Error('server did not start');
      const writer = await connectClient(server.url);
      resultOf(await writer.call('commitChanges', ['notes', [change('c1', 0, [{ op: 'replace', path: '/a', value: 1 }])]]));
      first.signal('SIGTERM');
      expect(await first.exit).toBe(0);
      // A damaged line before the last one: corruption, not a torn append.
      const log = join(documentDirectory(dataDir, 'notes'), segmentName(1));
      await appendFile(log, '{garbage\n' + (await readFile(log, 'utf8')));

      const proc = fakeCliEnvironment();
      const restarted = await runCli(['--port', '0', '--data', dataDir], proc.env);
      if (!restarted) throw new Error('server did not restart');
      const reader = await connectClient(restarted.url);
      for (let i = 0; i < 3; i++) expect(await reader.call('getDoc', ['notes'])).toMatchObject({ error: { code: 500, data: { scope: 'doc' } } });
      expect(proc.err).toEqual(['patches-rx-server: StoreError: Corrupt log line in document "notes"']);
      proc.signal('SIGTERM');
      expect(await proc.exit).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('should exit 1 when the port is taken', async () => {
    const first = fakeCliEnvironment();
    const server = await runCli(['--port', '0', '--memory'], first.env);
    if (!server) throw new Error('server did not start');
    const second = fakeCliEnvironment();
    expect(await runCli(['--port', String(server.port), '--memory'], second.env)).toBeUndefined();
    expect(await second.exit).toBe(1);
    expect(second.err[0]).toContain('cannot start');
    await server.close();
  });

  // Found in review: with a database that stopped answering, a SIGTERM'd process was still alive a
  // minute later (the store's close waited on it), past the grace of systemd and Kubernetes.
  it('should exit with 1 once closing takes longer than --shutdown-timeout', async () => {
    const proc = fakeCliEnvironment();
    const server = await runCli(['--port', '0', '--memory', '--shutdown-timeout', '50'], proc.env);
    if (!server) throw new Error('server did not start');
    // A client that reads nothing more: the server's close waits for its closing handshake (2 s).
    const deaf = new WebSocket(server.url);
    await new Promise((resolve) => deaf.once('open', resolve));
    (deaf as unknown as { _socket: { pause(): void } })._socket.pause();
    proc.signal('SIGTERM');
    expect(await proc.exit).toBe(1);
    expect(proc.err).toEqual(['patches-rx-server: closing took more than 50 ms (--shutdown-timeout): exiting']);
    deaf.terminate();
    await server.close();
  });
});
