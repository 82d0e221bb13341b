// The book's own touches to mdBook's pages (with lesson.css): here, for
// readers on a keyboard.
(function () {
  'use strict';
  // A code block wider than the page scrolls sideways, and a keyboard
  // scrolls only what it can focus: such a block, and only such a block (a
  // tab stop on every code sample would be a tour of them), is made
  // focusable. Again when the window changes size, and when a folded
  // solution opens (its code had no width while it was closed).
  function focusableWhenScrolling() {
    for (const code of document.querySelectorAll('main pre > code')) {
      if (code.scrollWidth > code.clientWidth) {
        code.setAttribute('tabindex', '0');
      } else {
        code.removeAttribute('tabindex');
      }
    }
  }
  focusableWhenScrolling();
  window.addEventListener('resize', focusableWhenScrolling);
  document.addEventListener('toggle', focusableWhenScrolling, true);
})();
