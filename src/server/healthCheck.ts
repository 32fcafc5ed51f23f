import type { RequestListener } from 'node:http';
import type { ServerStats } from './startServer.js';
import { upgradeRequired } from './upgradeRequired.js';

/** The path a load balancer or orchestrator probes. */
export const HEALTH_PATH = '/healthz';

/**
 * An `onHttpRequest` handler answering `GET /healthz` (and `HEAD`) on the server's port, handing
 * every other request to `next` (an app's own pages), or answering it 426 "connect with a
 * WebSocket" as the server does without a handler. So a health route composes with a page
 * server instead of replacing it.
 *
 * A health probe needs no WebSocket: an nginx or Kubernetes check is a plain request, and a
 * WebSocket probe counts as a success only once it closes. The answer is 200
 * `{ ok: true, connections, subscriptions }` while `stats` gives counters, 503 `{ ok: false }`
 * while it gives `undefined` (not listening yet, or shutting down: take the process out first),
 * and 503 `{ ok: false, storeStopped }` once the store takes no more writes until a restart
 * (`FileServerStore` after a failed sync): a liveness probe on it restarts the process.
 *
 * ## Example
 * ```ts
 * let server: RunningServer | undefined;
 * server = await startServer({ port: 8787, onHttpRequest: healthCheck(() => server?.stats, servePages) });
 * ```
 *
 * @param stats the running server's counters, or `undefined` when it should not get traffic
 * @param next the handler of every other request
 * @return the request listener
 */
export function healthCheck(stats: () => ServerStats | undefined, next: RequestListener = upgradeRequired): RequestListener {
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path !== HEALTH_PATH || (request.method !== 'GET' && request.method !== 'HEAD')) {
      next(request, response);
      return;
    }
    const now = stats();
    const healthy = now !== undefined && now.storeStopped === undefined;
    const body = JSON.stringify(
      healthy ? { ok: true, connections: now.connections, subscriptions: now.subscriptions } : { ok: false, ...(now?.storeStopped === undefined ? {} : { storeStopped: now.storeStopped }) },
    );
    response.writeHead(healthy ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body + '\n');
  };
}
