import { runCli } from '../../../../src/server/cli.js';
import type { PatchesSnapshot } from '../../../../src/types.js';
import { describeWithPostgres, usePostgresCluster } from '../../../helpers/postgres.js';
import { change, resultOf } from '../../../helpers/testServer.js';
import { connectClient } from '../../../helpers/wsClient.js';
import { fakeCliEnvironment } from '../../../helpers/fakeCliEnvironment.js';

describeWithPostgres()('patches-rx-server on PostgreSQL', () => {
  const cluster = usePostgresCluster();

  it('should serve documents from --database-url, and from DATABASE_URL on the next start', async () => {
    const url = await cluster().createDatabase('cli');
    const first = fakeCliEnvironment();
    const server = await runCli(['--port', '0', '--database-url', url, '--pool-size', '3', '--statement-timeout', '5000'], first.env);
    if (!server) throw new Error(`server did not start: ${first.err.join('\n')}`);
    expect(first.out[0]).toBe(`patches-rx server listening on ${server.url} (data in PostgreSQL at ${url}; ids starting with "lww" are LWW)`);
    const client = await connectClient(server.url);
    resultOf(await client.call('commitChanges', ['notes', [change('c1', 0, [{ op: 'replace', path: '/a', value: 1 }])]]));
    first.signal('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = fakeCliEnvironment(url);
    const restarted = await runCli(['--port', '0'], second.env);
    if (!restarted) throw new Error(`server did not restart: ${second.err.join('\n')}`);
    const reader = await connectClient(restarted.url);
    expect(resultOf<PatchesSnapshot>(await reader.call('getDoc', ['notes'])).changes.map((c) => c.id)).toEqual(['c1']);
    second.signal('SIGINT');
    expect(await second.exit).toBe(0);
  });

  it('should exit 1 with one line when the database is unreachable or the role lacks rights', async () => {
    const unreachable = fakeCliEnvironment();
    expect(await runCli(['--port', '0', '--database-url', 'postgres://app:secret@127.0.0.1:1/patches'], unreachable.env)).toBeUndefined();
    expect(await unreachable.exit).toBe(1);
    expect(unreachable.err).toEqual(['patches-rx-server: cannot start: PostgreSQL at postgres://app:***@127.0.0.1:1/patches: cannot reach the database (ECONNREFUSED)']);
    // A password in the query is one too (node-postgres logs in with it).
    const inQuery = fakeCliEnvironment();
    expect(await runCli(['--port', '0', '--database-url', 'postgres://app@127.0.0.1:1/patches?password=secret'], inQuery.env)).toBeUndefined();
    expect(await inQuery.exit).toBe(1);
    expect(inQuery.err).toEqual(['patches-rx-server: cannot start: PostgreSQL at postgres://app@127.0.0.1:1/patches?password=***: cannot reach the database (ECONNREFUSED)']);

    const url = await cluster().createDatabase('cli_rights');
    const admin = await import('pg').then(({ default: pg }) => new pg.Client(url));
    await admin.connect();
    await admin.query('CREATE ROLE visitor LOGIN');
    await admin.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await admin.end();
    const refused = fakeCliEnvironment();
    expect(await runCli(['--port', '0', '--database-url', url.replace('postgres@', 'visitor@')], refused.env)).toBeUndefined();
    expect(await refused.exit).toBe(1);
    expect(refused.err).toHaveLength(1);
    expect(refused.err[0]).toMatch(/^patches-rx-server: cannot start: PostgreSQL at postgres:\/\/visitor@127\.0\.0\.1:\d+\/cli_rights: the role lacks the rights/);
    expect(refused.err[0]).not.toContain('\n');
  });
});
