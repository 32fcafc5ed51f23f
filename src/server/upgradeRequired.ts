import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What the server answers a plain HTTP request no handler takes: 426, "connect with a WebSocket".
 * The default of `startServer`'s `onHttpRequest` and of `healthCheck`'s `next`.
 *
 * @example
 * createServer(upgradeRequired); // every request: 426 Upgrade Required
 */
export function upgradeRequired(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
  response.end('patches-rx server: connect with a WebSocket\n');
}
