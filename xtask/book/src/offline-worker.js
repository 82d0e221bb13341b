// The book's service worker. `cargo xtask book` writes it into every build
// as book-worker.js (xtask/book/src/offline.rs fills in BUILD and FILES):
// edit this template, never the built copy.
//
// It keeps every file of one build (each chapter, the slides, the images,
// the search index, the fonts) in one cache of its own, and answers the
// book's requests from that cache, so that after a reader's first visit the
// whole book reads offline. A new build is a new worker (its BUILD differs),
// which fills a new cache while this one still serves the old, then takes
// over and deletes the old cache: a reader sees one build or the other,
// never a mix.
'use strict';

// A hash of this build's files.
const BUILD = "{{BUILD}}";
// Every file of this build, relative to this script.
const FILES = "{{FILES}}";

// The caches of the book at this scope (another book on the same origin has
// its own scope, and its caches are left alone).
const PREFIX = 'offline-book ' + self.registration.scope + ' ';
const CACHE = PREFIX + BUILD;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // `cache: 'reload'`: from the server, never from the HTTP cache. mdBook's
    // pages keep their names from build to build, so a page the HTTP cache
    // kept from the last build would put the old page in the new cache.
    // `addAll` is all or nothing: if one file fails, the install fails and
    // the old worker goes on serving the old build, whole.
    await cache.addAll(FILES.map((file) => new Request(file, { cache: 'reload' })));
    // A book has nothing to migrate: take over at once. The pages reload
    // themselves when that happens (theme/offline.js), so that a page of the
    // old build never asks the new cache for the old build's files.
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) {
        await caches.delete(name);
      }
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || !request.url.startsWith(self.registration.scope)) {
    return;
  }
  // The file, without the query (mdBook's search puts the words there) or
  // the fragment; a directory is its index.html, as a static server serves it.
  const url = new URL(request.url);
  let file = url.origin + url.pathname;
  if (file.endsWith('/')) {
    file += 'index.html';
  }
  event.respondWith((async () => {
    // This build's cache by name: `caches.match` alone would search every
    // cache, an old build's too.
    const kept = await caches.match(file, { cacheName: CACHE });
    if (kept) {
      return kept;
    }
    // Not part of the book (the live reload of `book --serve`, a page added
    // since): the network. Offline, a page that is not there is the book's
    // own "not found" page.
    try {
      return await fetch(request);
    } catch (error) {
      const missing = request.mode === 'navigate'
        && await caches.match(new URL('404.html', self.registration.scope).href, { cacheName: CACHE });
      if (missing) {
        return missing;
      }
      throw error;
    }
  })());
});
