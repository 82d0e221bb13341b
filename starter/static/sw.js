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

// The worker's WebAssembly is in this very script. `cargo xtask build`
// puts the module (base64) in place of the placeholder below, and
// wasm-bindgen's glue, which defines `wasm_bindgen`, in place of the comment
// line after it. The browser stores a worker's script with its registration
// and hands it over whole each time it starts the worker, which is for every
// event: so the module is there at once, with no cache to read and no second
// script to wait for, and compiling it starts on the first line, on another
// thread, while the glue is evaluated on this one.
//
// The module is in a comment, not in a string: Chromium skips 140 kB of
// comment several times faster than it reads a string literal that long
// (we measured 0.7 ms at every start), and a function's `toString()` gives
// back its exact source text, comment and all.
function workerWasm() {/*%WORKER_WASM%*/}
const compiling = WebAssembly.compile(bytesOf(commentIn(workerWasm)));
// %WORKER_GLUE%
const ready = wasm_bindgen({ module_or_path: compiling });

function commentIn(f) {
  const source = f.toString();
  return source.slice(source.indexOf('/*') + 2, source.lastIndexOf('*/'));
}

// `Uint8Array.fromBase64` is recent (Chrome 140, Firefox 133, Safari 18.2);
// `atob` is the slower way every browser has.
function bytesOf(base64) {
  return Uint8Array.fromBase64
    ? Uint8Array.fromBase64(base64)
    : Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

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
