import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { closeWith } from '../../src/server/closeWith.js';

describe('closeWith', () => {
  let wss: WebSocketServer;
  afterEach(async () => {
    await new Promise((resolve) => wss.close(resolve));
  });

  /** A real socket pair on loopback: the server's end and the client's. */
  async function pair(): Promise<{ server: WebSocket; client: WebSocket }> {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const { port } = wss.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [server] = (await once(wss, 'connection')) as [WebSocket];
    await once(client, 'open');
    return { server, client };
  }

  it('should close a paused socket with the code and reason, reading it again for the peer’s answer', async () => {
    const { server, client } = await pair();
    server.pause();
    const closedByPeer = once(client, 'close');
    const closedHere = once(server, 'close');
    const terminate = jest.spyOn(server, 'terminate');
    closeWith(server, 4403, 'Forbidden');
    const [code, reason] = (await closedByPeer) as [number, Buffer];
    expect([code, String(reason)]).toEqual([4403, 'Forbidden']);
    // The server's end finished the handshake (it read the client's closing frame), not cut at the grace.
    expect((await closedHere)[0]).toBe(4403);
    expect(terminate).not.toHaveBeenCalled();
  });

  it('should terminate the socket, not throw, on a code ws refuses to send', async () => {
    const { server, client } = await pair();
    const closedByPeer = once(client, 'close');
    expect(() => closeWith(server, 1005, '')).not.toThrow();
    expect((await closedByPeer)[0]).toBe(1006);
  });
});
