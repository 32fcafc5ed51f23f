import type { PerMessageDeflateOptions } from 'ws';

/**
 * The reference server's `permessage-deflate` settings (RFC 7692), negotiated with every client
 * that offers it (browsers and `ws` do; others get plain frames, nothing else changes).
 *
 * Our frames are small JSON-RPC messages that repeat the same keys and ids, so what pays is the
 * sliding window kept between messages (context takeover): a change of ~700 bytes mostly
 * repeats the previous one. Frames under `threshold` bytes go uncompressed (the deflate header
 * would cost more than it saves). The window and memory level are below zlib's defaults so a
 * busy connection's compressor holds ~100 KB instead of ~300 KB; an idle connection holds
 * none (`ws` creates it on the first compressed message).
 */
export const SERVER_PER_MESSAGE_DEFLATE: PerMessageDeflateOptions = {
  threshold: 128,
  serverMaxWindowBits: 13,
  zlibDeflateOptions: { level: 6, memLevel: 7 },
  // At most this many compressions run at once in zlib's thread pool (ws's default is 10).
  concurrencyLimit: 10,
};

