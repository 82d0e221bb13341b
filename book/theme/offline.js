// The book reads offline: every page registers the book's service worker,
// book-worker.js, which `cargo xtask book` writes into each build with the
// list of that build's files (xtask/book/src/offline.rs). After the first
// visit, every chapter, the slides, the images and the search index come
// from its cache.
(function () {
  'use strict';
  // Service workers need http(s); a book opened as a file has none.
  if (!('serviceWorker' in navigator) || !/^https?:$/.test(location.protocol)) { return; }
  // A page shown by one build's worker when the next build's worker takes
  // over is a page of the old build: its next image or search would ask the
  // new cache for the old build's files. Reload it from the new build. (A
  // first visit has no worker yet: the page came from the server, and the
  // worker's first take-over changes nothing.)
  const shownByAWorker = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.addEventListener('controllerchange', function () {
    if (shownByAWorker) { location.reload(); }
  });
  // `path_to_root` is mdBook's: from this page to the book's root, where the
  // worker is, so that its scope is the whole book.
  navigator.serviceWorker.register(path_to_root + 'book-worker.js').catch(function (error) {
    console.warn('The book will not be kept for offline reading:', error);
  });
})();
