import { startServer } from '../../src/server/startServer.js';
import type { RunningServer, StartServerOptions } from '../../src/server/startServer.js';
import { MemoryServerStore } from '../../src/server/stores/MemoryServerStore.js';
import type { Change, JSONPatchOp } from '../../src/types.js';
import { connectClient } from './wsClient.js';
import type { WsTestClient } from './wsClient.js';

/** A server on 127.0.0.1:0 plus the raw clients a spec opened against it. */
export interface TestServer {
  server: RunningServer;
  /** Faults the server reported through `onError` (a spec asserts it stays empty). */
  faults: unknown[];
  /** Opens a client (optionally with sub-protocols, or a query string appended to the url). */
  connect(options?: { protocols?: string | string[]; query?: string }): Promise<WsTestClient>;
  /** Closes every client, then the server. */
  close(): Promise<void>;
}

/** Starts a server with an in-memory store unless `options.store` says otherwise. */
export async function startTestServer(options: StartServerOptions = {}): Promise<TestServer> {
  const faults: unknown[] = [];
  const server = await startServer({ port: 0, store: new MemoryServerStore(), onError: (error) => faults.push(error), ...options });
  const clients: WsTestClient[] = [];
  return {
    server,
    faults,
    async connect({ protocols, query } = {}) {
      const client = await connectClient(server.url + (query ?? ''), protocols);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    },
  };
}

/** A change as a client sends it. */
export function change(id: string, baseRev: number, ops: JSONPatchOp[], extra: Partial<Change> = {}): Partial<Change> {
  return { id, baseRev, rev: baseRev + 1, ops, createdAt: 1000, committedAt: 0, ...extra };
}

/** The `result` of a reply, failing the spec with the error if there is one. */
export function resultOf<T = unknown>(reply: Record<string, unknown>): T {
  if ('error' in reply) throw new Error(`expected a result, got error ${JSON.stringify(reply.error)}`);
  return reply.result as T;
}

/** The `error` of a reply. */
export function errorOf(reply: Record<string, unknown>): { code: number; message: string; data?: Record<string, unknown> } {
  if (!('error' in reply)) throw new Error(`expected an error, got ${JSON.stringify(reply)}`);
  return reply.error as { code: number; message: string; data?: Record<string, unknown> };
}
