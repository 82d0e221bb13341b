// The room page: the table from /api/table, then again from /api/events
// (server-sent events) after every report, redrawn without a reload.
// Everything students sent is put into the page as text, never as HTML.
'use strict';

const SYMBOL = { 'pass': '✓', 'fail': '✗', 'not-run': '—', 'not-applicable': 'n/a' };
const WORD = { 'pass': 'passes', 'fail': 'fails', 'not-run': 'not run yet', 'not-applicable': 'not in this browser' };
// No new ✓ for this long, with checkpoints still to go: the row says so.
const STUCK_AFTER = 10 * 60;

let latest = null;
// The server's clock minus ours, in seconds: ages are the server's.
let skew = 0;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function ago(seconds) {
  if (seconds < 60) return 'just now';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + ' min ago';
  return Math.floor(minutes / 60) + ' h ' + (minutes % 60) + ' min ago';
}

function now() { return Date.now() / 1000 + skew; }

function age(student, total) {
  const passed = Object.values(student.results).filter(r => r === 'pass').length;
  if (student.last_progress === null) {
    return { text: 'no ✓ yet (joined ' + ago(now() - student.first_seen) + ')', stuck: now() - student.first_seen > STUCK_AFTER };
  }
  const since = now() - student.last_progress;
  return { text: ago(since), stuck: passed < total && since > STUCK_AFTER };
}

// A new table from the server.
function show(table) {
  latest = table;
  skew = table.now - Date.now() / 1000;
  render(table);
}

function render(table) {
  document.getElementById('room-code').textContent = table.code;

  const columns = document.getElementById('columns');
  columns.replaceChildren(el('th', 'Student', 'name'));
  table.checkpoints.forEach((c, i) => {
    const th = el('th', String(i + 1));
    th.title = c.id + ': ' + c.title;
    th.dataset.checkpoint = c.id;
    columns.append(th);
  });
  columns.append(el('th', 'Last progress'), el('th', 'Hints seen'), el('th', 'Stage · build'));

  const rows = table.students.map(student => {
    const tr = el('tr');
    tr.dataset.name = student.name;
    tr.append(el('td', student.name, 'name'));
    for (const c of table.checkpoints) {
      const result = student.results[c.id] || 'not-yet';
      const td = el('td', SYMBOL[result] || '—', 'cell ' + result);
      td.dataset.checkpoint = c.id;
      td.dataset.result = result;
      td.title = c.id + ': ' + (WORD[result] || 'not reported yet');
      tr.append(td);
    }
    const a = age(student, table.checkpoints.length);
    const ageCell = el('td', a.text, 'age');
    if (a.stuck) tr.classList.add('stuck');
    tr.append(ageCell);
    const hints = el('td', student.hints_seen.length ? undefined : '—', 'hints');
    student.hints_seen.forEach((hint, i) => {
      if (i > 0) hints.append(document.createTextNode(', '));
      hints.append(el('span', hint));
    });
    tr.append(hints);
    const build = el('td', student.stage + ' · ' + (student.build_id ? student.build_id.slice(0, 8) : '—'), 'build');
    build.title = student.stage + ' in ' + student.browser + ', build ' + (student.build_id || 'unknown');
    tr.append(build);
    return tr;
  });
  document.getElementById('students').replaceChildren(...rows);
  document.getElementById('room').hidden = rows.length === 0;
  document.getElementById('empty').hidden = rows.length > 0;

  const list = document.getElementById('checkpoints');
  list.replaceChildren(...table.checkpoints.map(c => {
    const li = el('li');
    li.append(el('code', c.id), document.createTextNode(' ' + c.title));
    return li;
  }));
}

function setLive(text, down) {
  const live = document.getElementById('live');
  live.textContent = text;
  live.classList.toggle('down', down);
}

async function start() {
  try {
    const response = await fetch('/api/table');
    if (response.ok) show(await response.json());
  } catch (e) {
    setLive('the room server does not answer', true);
  }
  // EventSource reconnects by itself when the room server restarts; the
  // first event after that is the whole table again.
  const events = new EventSource('/api/events');
  events.addEventListener('table', e => show(JSON.parse(e.data)));
  events.onopen = () => setLive('live', false);
  events.onerror = () => setLive('reconnecting to the room server…', true);
  // The ages move on between reports.
  setInterval(() => { if (latest) render(latest); }, 15000);
}

start();
