import { createServer } from 'node:http';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthCheck } from '../../src/server/healthCheck.js';
import type { ServerStats } from '../../src/server/startServer.js';

describe('healthCheck', () => {
  /** Serves `listener` on a free loopback port for the length of `run`. */
  async function serving(listener: RequestListener, run: (base: string) => Promise<void>): Promise<void> {
    const server = createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('should answer /healthz itself (503 while the store takes no writes) and hand every other request to the app, so a page server keeps its pages', async () => {
    let stats: Partial<ServerStats> | undefined = { connections: 3, subscriptions: 7 };
    const page = healthCheck(
      () => stats as ServerStats | undefined,
      (_request, response) => response.writeHead(200, { 'Content-Type': 'text/html' }).end('<title>app</title>'),
    );
    await serving(page, async (base) => {
      expect(await (await fetch(`${base}/`)).text()).toBe('<title>app</title>');
      expect(await (await fetch(`${base}/healthz?probe=1`)).json()).toEqual({ ok: true, connections: 3, subscriptions: 7 });
      const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([200, '']);
      stats = { connections: 3, subscriptions: 7, storeStopped: 'a sync of the data failed (EIO)' };
      const stopped = await fetch(`${base}/healthz`);
      expect([stopped.status, await stopped.json()]).toEqual([503, { ok: false, storeStopped: 'a sync of the data failed (EIO)' }]);
      stats = undefined;
      const stopping = await fetch(`${base}/healthz`);
      expect([stopping.status, await stopping.json()]).toEqual([503, { ok: false }]);
    });
  });

  it('should answer other requests 426 without an app handler, as the server does', async () => {
    await serving(healthCheck(() => undefined), async (base) => {
      const other = await fetch(`${base}/anything`);
      expect([other.status, other.headers.get('upgrade')]).toEqual([426, 'websocket']);
    });
  });
});
