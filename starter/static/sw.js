// The service worker's shim. Build %BUILD_ID%.
//
// A service worker must add its event listeners synchronously, while this
// script first runs: the browser only dispatches events to listeners that
// existed then. WebAssembly starts asynchronously, so these lines add every
// listener at once and hand each event to Rust when the wasm is ready. Each
// Rust handler returns a Promise, given to `waitUntil` / `respondWith` at
// once (they too must be called during the event), which keeps the worker
// alive until the work is done.
const BUILD_ID = '%BUILD_ID%';

// Start from this build's cached copy of the wasm, so the worker can start
// with no network; on the very first install there is no copy yet. The
// lookup is asked for first, in one call, so that it runs while the glue
// below loads: a worker starts for every event, and this is on its way.
const wasm = caches
  .match('/pkg/worker_bg.wasm', { cacheName: 'offline-news-shell-' + BUILD_ID })
  .then((cached) => cached || fetch('/pkg/worker_bg.wasm'));

importScripts('/pkg/worker.js');
// The bytes whole, then compiled: for a module this small, read from the
// cache, that starts the worker sooner than streaming compilation does.
const ready = wasm
  .then((response) => response.arrayBuffer())
  .then((bytes) => wasm_bindgen({ module_or_path: bytes }));

const toRust = (handler) => (event) =>
  event.waitUntil(ready.then(() => wasm_bindgen[handler](event, BUILD_ID)));

self.addEventListener('install', toRust('on_install'));
self.addEventListener('activate', toRust('on_activate'));
self.addEventListener('message', toRust('on_message'));
self.addEventListener('sync', toRust('on_sync'));
self.addEventListener('push', toRust('on_push'));
self.addEventListener('notificationclick', toRust('on_notification_click'));

self.addEventListener('fetch', (event) => {
  // Whether to answer must be decided now, synchronously: only our own GETs
  // go to Rust. Everything else (the API's POSTs, live reload) goes straight
  // to the network as if there were no worker.
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin ||
      url.pathname.startsWith('/__dev/')) {
    return;
  }
  event.respondWith(ready.then(() => wasm_bindgen.on_fetch(event, BUILD_ID)));
});

// The worker's own start-up work waits one task, so the event that woke
// the worker (a page's message, a fetch, a push) reaches Rust first: that is
// what someone is waiting for.
const logError = (error) => console.error('[sw]', error);
ready
  .then(() => setTimeout(() => wasm_bindgen.on_start().catch(logError)))
  .catch(logError);
