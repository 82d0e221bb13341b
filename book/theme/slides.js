// Slide mode for a chapter that has `{{#slides}}`: the chapter's Markdown
// is cut into slides at each `---` (an <hr>), shown one at a time. The
// speaker view (S) opens the same page in a second window showing the notes
// (`<div class="notes">`), which the presented slides never show. The two
// windows follow each other over a BroadcastChannel. Self-contained: no
// library, nothing fetched.
(function () {
  'use strict';
  const deck = document.querySelector('main .slide-deck');
  if (!deck) { return; }
  const main = document.querySelector('main');

  // Each slide: the nodes between two <hr>s.
  const slides = [[]];
  for (const node of Array.from(main.childNodes)) {
    if (node.nodeName === 'HR') { slides.push([]); } else { slides[slides.length - 1].push(node); }
  }
  const last = slides.length - 1;
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel('book-slides:' + location.pathname) : null;
  let current = 0;
  let view = null; // null, 'audience' or 'speaker'
  let started = null;
  let clock = null;

  function clone(index) {
    const section = document.createElement('section');
    section.className = 'slide';
    for (const node of slides[index] || []) { section.appendChild(node.cloneNode(true)); }
    // The page keeps the ids (its headings' anchors); a copy of them would
    // be a second element with the same id.
    for (const element of section.querySelectorAll('[id]')) { element.removeAttribute('id'); }
    return section;
  }

  // The speaker view shows a slide as the audience sees it on a 1280×720
  // screen (the size the slides are tested at), scaled down to its pane:
  // smaller, never cut off.
  const STAGE_WIDTH = 1280;
  const STAGE_HEIGHT = 720;

  function miniature(index) {
    const fit = document.createElement('div');
    fit.className = 'fit';
    const frame = document.createElement('div');
    frame.className = 'frame';
    const stage = document.createElement('div');
    stage.className = 'stage slide-stage';
    stage.appendChild(clone(index));
    frame.appendChild(stage);
    fit.appendChild(frame);
    return fit;
  }

  function fitMiniatures() {
    if (!overlay) { return; }
    for (const fit of overlay.querySelectorAll('.fit')) {
      const scale = Math.min(fit.clientWidth / STAGE_WIDTH, fit.clientHeight / STAGE_HEIGHT);
      const frame = fit.firstChild;
      frame.style.width = (STAGE_WIDTH * scale) + 'px';
      frame.style.height = (STAGE_HEIGHT * scale) + 'px';
      frame.firstChild.style.transform = 'scale(' + scale + ')';
    }
  }
  window.addEventListener('resize', fitMiniatures);

  function notesOf(index) {
    const box = document.createElement('div');
    for (const node of slides[index] || []) {
      if (node.nodeType === 1) {
        const notes = node.matches('.notes') ? [node] : Array.from(node.querySelectorAll('.notes'));
        for (const n of notes) { box.insertAdjacentHTML('beforeend', n.innerHTML); }
      }
    }
    if (!box.childNodes.length) { box.textContent = '(no notes)'; }
    return box;
  }

  let overlay = null;
  const madeInert = [];
  function render() {
    if (!overlay) { return; }
    overlay.textContent = '';
    if (view === 'audience') {
      overlay.appendChild(clone(current));
      const counter = document.createElement('div');
      counter.className = 'slides-counter';
      counter.textContent = (current + 1) + ' / ' + slides.length;
      overlay.appendChild(counter);
    } else {
      const bar = document.createElement('div');
      bar.className = 'bar';
      const position = document.createElement('span');
      position.textContent = 'Slide ' + (current + 1) + ' / ' + slides.length;
      const time = document.createElement('span');
      time.className = 'clock';
      bar.append(position, time);
      const pane = function (cls, label, content) {
        const div = document.createElement('div');
        div.className = 'pane ' + cls;
        const title = document.createElement('div');
        title.className = 'label';
        title.textContent = label;
        div.append(title, content);
        return div;
      };
      overlay.append(
        bar,
        pane('current', 'Now', miniature(current)),
        pane('next', 'Next', current < last ? miniature(current + 1) : document.createTextNode('(end)')),
        pane('speaker-notes', 'Notes', notesOf(current))
      );
      fitMiniatures();
      tick();
    }
    history.replaceState(null, '', '#' + (view === 'speaker' ? 'speaker-' : 'slide-') + (current + 1));
  }

  function tick() {
    const time = overlay && overlay.querySelector('.clock');
    if (!time) { return; }
    const seconds = Math.floor((Date.now() - started) / 1000);
    const m = Math.floor(seconds / 60);
    const s = String(seconds % 60).padStart(2, '0');
    time.textContent = m + ':' + s + ' elapsed · ' + new Date().toLocaleTimeString();
  }

  function go(index, fromChannel) {
    current = Math.max(0, Math.min(last, index));
    render();
    if (channel && !fromChannel) { channel.postMessage({ slide: current }); }
  }

  function start(as, index) {
    if (view) { return; }
    view = as;
    started = Date.now();
    overlay = document.createElement('div');
    overlay.className = as === 'speaker' ? 'slides-speaker' : 'slides-overlay slide-stage';
    // A landmark of its own, named, for screen readers; the page behind it
    // is inert while it is shown (no tabbing, no reading behind the slides).
    overlay.setAttribute('role', 'region');
    overlay.setAttribute('aria-label', as === 'speaker' ? 'Speaker view' : 'Slides');
    for (const child of document.body.children) {
      if (!child.inert) { child.inert = true; madeInert.push(child); }
    }
    overlay.addEventListener('click', function (event) {
      if (view === 'audience' && !event.target.closest('a')) {
        go(current + (event.clientX > window.innerWidth / 3 ? 1 : -1));
      }
    });
    document.body.appendChild(overlay);
    document.documentElement.classList.add('presenting');
    if (as === 'speaker') { clock = setInterval(tick, 1000); }
    go(index || 0);
  }

  function stop() {
    if (!view) { return; }
    view = null;
    overlay.remove();
    overlay = null;
    for (const child of madeInert.splice(0)) { child.inert = false; }
    clearInterval(clock);
    document.documentElement.classList.remove('presenting');
    if (document.fullscreenElement) { document.exitFullscreen(); }
    history.replaceState(null, '', location.pathname);
  }

  // Capture phase, so mdBook's own keys (← → change chapter) never see the
  // keys the slides use.
  window.addEventListener('keydown', function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const typing = event.target.closest && event.target.closest('input, textarea, [contenteditable]');
    if (typing) { return; }
    if (!view) {
      if (event.key === 'p' || event.key === 'P') { event.preventDefault(); start('audience', 0); }
      return;
    }
    const keys = {
      ArrowRight: 1, ArrowDown: 1, PageDown: 1, ' ': 1, Enter: 1, n: 1,
      ArrowLeft: -1, ArrowUp: -1, PageUp: -1, Backspace: -1, p: -1
    };
    let handled = true;
    if (event.key in keys) { go(current + keys[event.key]); }
    else if (event.key === 'Home') { go(0); }
    else if (event.key === 'End') { go(last); }
    else if (event.key === 'Escape') { stop(); }
    else if (event.key === 's' || event.key === 'S') {
      window.open(location.pathname + '#speaker-' + (current + 1), 'book-speaker-view', 'width=1100,height=700');
    } else if (event.key === 'f' || event.key === 'F') {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { document.documentElement.requestFullscreen(); }
    } else { handled = false; }
    if (handled) { event.preventDefault(); event.stopPropagation(); }
  }, true);

  if (channel) {
    channel.onmessage = function (event) {
      if (view && typeof event.data.slide === 'number') { go(event.data.slide, true); }
    };
  }

  const button = deck.querySelector('.present-button');
  if (button) { button.addEventListener('click', function () { start('audience', 0); }); }

  // `#slide-3` or `#speaker-3` in the address starts there (a reload keeps
  // the place; the speaker window is opened that way).
  const match = /^#(slide|speaker)-(\d+)$/.exec(location.hash);
  if (match) { start(match[1] === 'speaker' ? 'speaker' : 'audience', Number(match[2]) - 1); }
})();
