import type { PerMessageDeflateOptions } from 'ws';

/**
 * The reference server's `permessage-deflate` settings (RFC 7692), negotiated with every client
 * that offers it (browsers and `ws` in Node do; others get plain frames, nothing else changes).
 *
 * Only frames of 1 KB or more are compressed, each on its own (no context takeover, so no
 * window is kept between messages and `threshold` applies; with a window kept, `ws` compresses
 * every frame). Measured on loopback (`node bench/server.js`, `bench/sync.js`): compressing every
 * small frame against a kept window cut a typed change to ~0.15× of its bytes but cost each
 * message two trips through zlib's thread pool, ~3× fewer commits/s on the server and ~1 ms
 * more per round trip; large frames (a burst of changes, `getDoc`, a resync) are where the bytes
 * are, and they compress to ~0.13× on their own. A connection's compressor holds no memory
 * between messages.
 */
export const SERVER_PER_MESSAGE_DEFLATE: PerMessageDeflateOptions = {
  threshold: 1024,
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  zlibDeflateOptions: { level: 6, memLevel: 8 },
  // At most this many compressions run at once in zlib's thread pool (ws's default).
  concurrencyLimit: 10,
};
