// The demo's service worker: network first, the last good copy when the server is unreachable or
// too slow to answer, so the page (and, through IndexedDB, its documents) still opens while the
// server is down or hung.
const CACHE = 'patches-rx-demo-v1';
const SHELL = ['/', '/app.js'];
/** How long a request waits for the network before the cached copy is served instead. */
const NETWORK_TIMEOUT_MS = 3000;

self.addEventListener('install', event => {
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', event => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', event => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  const network = fetch(request).then(response => {
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(cache => cache.put(request, copy)));
    }
    return response;
  });
  // Keeps the worker alive for an answer that comes after the timeout, so it still refreshes the cache.
  event.waitUntil(network.catch(() => undefined));
  event.respondWith(networkOrCached(request, network));
});

/**
 * The network's answer if it comes within NETWORK_TIMEOUT_MS, else the cached copy. A server that
 * accepts the connection and never answers (hung, or a dead link the OS has not noticed) would
 * otherwise leave the page blank; with nothing cached, the network is waited for after all.
 */
async function networkOrCached(request, network) {
  let timer;
  const late = new Promise(resolve => (timer = setTimeout(resolve, NETWORK_TIMEOUT_MS, 'late')));
  const first = await Promise.race([network, late]).catch(() => 'failed');
  clearTimeout(timer);
  if (first !== 'late' && first !== 'failed') return first;
  const cached = await caches.match(request);
  if (cached) return cached;
  return network.catch(() => Response.error());
}
