// A bare JSON-RPC 2.0 client on a `ws` socket, for benches that talk to the server directly
// (to write fixtures, or to measure the wire without patches-rx's client in the way).
import { WebSocket } from 'ws';

/**
 * Opens a connection to `url`; `call` resolves with a response's result, rejects with its error,
 * and fails after `limitMs` without a reply, so a bench fails instead of hanging.
 */
export async function rpcClient(url, limitMs = 60_000) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waiting = new Map();
  let nextId = 1;
  socket.on('message', data => {
    const frame = JSON.parse(String(data));
    const call = waiting.get(frame.id);
    if (!call) return;
    waiting.delete(frame.id);
    clearTimeout(call.timer);
    if (frame.error) call.reject(new Error(`${frame.error.code} ${frame.error.message}`));
    else call.resolve(frame.result);
  });
  return {
    call(method, params) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bench: no reply to ${method} within ${limitMs} ms`)), limitMs);
        waiting.set(id, { resolve, reject, timer });
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    },
    close() {
      socket.close();
    },
  };
}
