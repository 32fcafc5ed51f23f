import { serverCapabilities } from '../../src/server/capabilities.js';
import { resultOf, startTestServer, type TestServer } from '../helpers/testServer.js';

describe('getCapabilities', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('should describe batch arrays of at most maxBatchLength requests and compact acks', () => {
    expect(serverCapabilities(7)).toEqual({ batch: { maxLength: 7 }, compactAck: true, catchUpSnapshot: true });
  });

  it('should be answered by a real server with its batch limit (default 1000), alone and inside a batch', async () => {
    t = await startTestServer();
    const a = await t.connect();
    expect(resultOf(await a.call('getCapabilities'))).toEqual({ batch: { maxLength: 1000 }, compactAck: true, catchUpSnapshot: true });
    await t.close();
    t = await startTestServer({ maxBatchLength: 3 });
    const b = await t.connect();
    b.sendRaw(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'getCapabilities' }]));
    expect(await b.next(Array.isArray)).toEqual([{ jsonrpc: '2.0', id: 1, result: { batch: { maxLength: 3 }, compactAck: true, catchUpSnapshot: true } }]);
  });
});
