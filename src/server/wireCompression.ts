/**
 * `permessage-deflate` settings (RFC 7692), the part of `ws`'s options of the same name that the
 * server takes. Declared here so our public types need no `@types/ws` (a devDependency).
 */
export interface PerMessageDeflateOptions {
  /** Reset the server's compression window after each message (then `threshold` applies). */
  serverNoContextTakeover?: boolean | undefined;
  /** Ask the client to reset its window after each message. */
  clientNoContextTakeover?: boolean | undefined;
  /** Base-2 log of the server's window size, 8–15. */
  serverMaxWindowBits?: number | undefined;
  /** Base-2 log of the client's window size, 8–15, asked only of clients that offer the parameter. */
  clientMaxWindowBits?: number | undefined;
  /** zlib settings of the server's compressor. */
  zlibDeflateOptions?: ZlibSettings | undefined;
  /** zlib settings of the server's decompressor. */
  zlibInflateOptions?: ZlibSettings | undefined;
  /** Frames smaller than this many bytes go uncompressed (only without a window kept between messages). */
  threshold?: number | undefined;
  /** How many compressions may run at once in zlib's thread pool. */
  concurrencyLimit?: number | undefined;
}

/** The zlib settings `PerMessageDeflateOptions` passes on (see Node's `zlib` options). */
export interface ZlibSettings {
  /** Compression level, 0–9. */
  level?: number | undefined;
  /** Memory for the compression state, 1–9. */
  memLevel?: number | undefined;
  /** Size of zlib's output chunks in bytes. */
  chunkSize?: number | undefined;
  /** Base-2 log of the window size, 8–15. */
  windowBits?: number | undefined;
  /** Compression strategy (`zlib.constants.Z_*`). */
  strategy?: number | undefined;
}

/**
 * The reference server's default `permessage-deflate` settings (RFC 7692), negotiated with every
 * client that offers it (browsers and `ws` in Node do; others get plain frames, nothing else
 * changes): frames of 4 KB or more are compressed, each on its own (with no window kept between
 * messages `threshold` applies; with one, `ws` compresses every frame).
 *
 * Not 1 KB (`ws`'s default, ours until 2026-12-06): `ws` compresses each message through zlib's
 * thread pool, a fixed ~100 µs or more of server CPU on our test VM, worth it for a `getDoc` or a
 * burst but not to save ~1 KB of a reply catching a client up on a few changes: with 10 clients
 * committing to 1 doc (or 100) from another process, 1 KB cost the server ~380–480 (~250–360) µs
 * per commit against ~260–340 (~160–210) with 4 KB, the same as with no compression.
 *
 * Bursts, `getDoc` and resyncs are where large frames are, and they shrink to ~0.1× this way;
 * a typed change (one small request, reply and broadcast) goes plain, ~0.9× of
 * bench/baseline.json's bytes. `ALL_FRAMES_PER_MESSAGE_DEFLATE` takes it to ~0.16–0.18×, at a
 * cost in server CPU and in memory for every connection that has exchanged a message; it is
 * not the default for that memory (`node bench/compression.js`, `bench/scale.js`; README Decisions).
 *
 * Windows of 4 KB (2^12) compress large JSON frames as well as zlib's 32 KB, and output chunks of
 * 1 KB instead of 16 KB save ~26 KB of heap: `ws` creates a connection's zlib contexts on its
 * first compressed frame and then resets but never frees them, so a connection that once had a
 * large frame keeps ~130–170 KB of RSS here (~280–300 KB with zlib's defaults); one that never had one
 * costs nothing more. (`memLevel` hardly changes RSS in Node's zlib.)
 */
export const SERVER_PER_MESSAGE_DEFLATE: PerMessageDeflateOptions = {
  threshold: 4096,
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: 12,
  // Asked only of clients that offer `client_max_window_bits` (see acceptWebSockets.ts).
  clientMaxWindowBits: 12,
  zlibDeflateOptions: { level: 6, memLevel: 4, chunkSize: 1024 },
  zlibInflateOptions: { chunkSize: 1024 },
  // At most this many compressions run at once in zlib's thread pool (ws's default).
  concurrencyLimit: 10,
};

/**
 * Every frame compressed, each side keeping its 4 KB window between messages (context takeover):
 * the small frames of a typed change compress well only against the frames before them.
 * Opt in with `startServer({ compression: ALL_FRAMES_PER_MESSAGE_DEFLATE })` or `--compression all`.
 *
 * Measured (`node bench/compression.js`, median of 3 alternating runs, loopback): paced changes
 * ~0.16× (OT) and ~0.18× (LWW) of bench/baseline.json's bytes. Costs: server CPU ~1.5–2.3× per
 * small message (~410–450 vs ~245–280 µs per small commit, ~1.1–1.45 vs ~0.6–0.73 ms per paced
 * change: `ws` sends each message through zlib's thread pool), and ~80–130 KB of RSS held by
 * every connection from its first message until it closes, idle or not (`bench/scale.js`: ~0.8 GB
 * for 10,000 connected clients). 1 KB windows lose ~15% on large frames; 512 B leave zlib too
 * little to match (~0.56×).
 */
export const ALL_FRAMES_PER_MESSAGE_DEFLATE: PerMessageDeflateOptions = {
  serverMaxWindowBits: 12,
  clientMaxWindowBits: 12,
  zlibDeflateOptions: { level: 6, memLevel: 4, chunkSize: 1024 },
  zlibInflateOptions: { chunkSize: 1024 },
  concurrencyLimit: 10,
};
