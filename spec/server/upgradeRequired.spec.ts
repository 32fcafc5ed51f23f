import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { upgradeRequired } from '../../src/server/upgradeRequired.js';

// The answer to a plain HTTP request nothing else takes: connect with a WebSocket.

describe('upgradeRequired', () => {
  it.each(['GET', 'POST', 'HEAD'])('should answer a %s 426, asking for a WebSocket, in plain text', async (method) => {
    const server = createServer(upgradeRequired);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/any/path?q=1`, { method });
      expect([response.status, response.headers.get('upgrade'), response.headers.get('content-type')]).toEqual([426, 'websocket', 'text/plain']);
      expect(await response.text()).toBe(method === 'HEAD' ? '' : 'patches-rx server: connect with a WebSocket\n');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    }
  });
});
