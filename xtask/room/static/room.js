// The room page: the table from /api/table, then again from /api/events
// (server-sent events) whenever it changes, redrawn without a reload.
// Everything students sent is put into the page as text, never as HTML.
'use strict';

const SYMBOL = { 'pass': '✓', 'fail': '✗', 'not-run': '—', 'not-applicable': 'n/a' };
const WORD = { 'pass': 'passes', 'fail': 'fails', 'not-run': 'not run yet', 'not-applicable': 'not in this browser' };
// Hint levels: the hint, `cargo xtask hint --more`, `cargo xtask reveal`.
const LEVEL = { 1: 'hint', 2: 'more', 3: 'reveal' };
// A checkpoint the lesson plan gives no minutes to.
const DEFAULT_MINUTES = 10;

let latest = null;
// The server's clock minus ours, in seconds: ages are the server's.
let skew = 0;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function duration(seconds) {
  if (seconds < 60) return 'under a minute';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + ' min';
  return Math.floor(minutes / 60) + ' h ' + (minutes % 60) + ' min';
}

function ago(seconds) {
  return seconds < 60 ? 'just now' : duration(seconds) + ' ago';
}

function now() { return Date.now() / 1000 + skew; }

// The instructor's threshold in minutes, or null for the lesson plan's.
function threshold() {
  const value = document.getElementById('stuck-after').value.trim();
  if (value === '') return null;
  const minutes = Number(value);
  return Number.isFinite(minutes) && minutes >= 0 ? minutes : null;
}

// The lesson plan's minutes for `id`: its section's.
function planned(table, id) {
  return table.minutes[id] || DEFAULT_MINUTES;
}

// How long a student may be on `id` before the row says stuck, in minutes.
function allowed(table, id) {
  const chosen = threshold();
  return chosen === null ? planned(table, id) : chosen;
}

function passed(student) {
  return Object.values(student.results).filter(r => r === 'pass').length;
}

// Where the student is: the checkpoint they are on, for how long, in how
// many checks, and whether that is past the threshold.
function position(table, student) {
  if (student.checks === 0) return { text: 'no check yet', stuck: false };
  if (student.on === null) {
    return { text: 'all ✓ (last ✓ ' + ago(now() - (student.last_progress || student.last_report)) + ')', stuck: false };
  }
  const since = now() - student.on_since;
  const checks = student.checks_here + (student.checks_here === 1 ? ' check' : ' checks');
  return {
    text: student.on + ' · ' + duration(since) + ' · ' + checks,
    stuck: since > allowed(table, student.on) * 60,
  };
}

// A new table from the server.
function show(table) {
  latest = table;
  skew = table.now - Date.now() / 1000;
  render(table);
}

function sorted(table) {
  const order = document.getElementById('sort').value;
  const students = table.students.slice();
  if (order === 'behind') students.sort((a, b) => passed(a) - passed(b));
  if (order === 'ahead') students.sort((a, b) => passed(b) - passed(a));
  if (order === 'name') students.sort((a, b) => a.name.localeCompare(b.name));
  // Array.prototype.sort is stable: equals stay in the order they joined.
  return students;
}

function header(table) {
  const columns = document.getElementById('columns');
  columns.replaceChildren(el('th', 'Student', 'name'));
  const reporting = table.students.filter(s => s.checks > 0);
  table.checkpoints.forEach((c, i) => {
    const th = el('th', undefined, 'checkpoint');
    th.dataset.checkpoint = c.id;
    const applies = reporting.filter(s => s.results[c.id] && s.results[c.id] !== 'not-applicable');
    const count = applies.filter(s => s.results[c.id] === 'pass').length;
    th.dataset.passed = String(count);
    th.title = c.id + ': ' + c.title + '\n' + count + ' of ' + applies.length +
      ' students pass it · lesson plan: ' + planned(table, c.id) + ' min';
    const bar = el('span', undefined, 'bar');
    const fill = el('span', undefined, 'fill');
    // Through the CSSOM, which the page's CSP allows (a style attribute
    // it would not).
    fill.style.height = (applies.length ? Math.round(100 * count / applies.length) : 0) + '%';
    bar.append(fill);
    th.append(el('span', String(i + 1), 'number'), bar, el('span', String(count), 'count'));
    columns.append(th);
  });
  columns.append(el('th', 'On · for · checks'), el('th', 'Why (as check printed it)'),
    el('th', 'Hints asked for'), el('th', 'Set-up (doctor)'), el('th', 'Stage · build'));
}

function row(table, student) {
  const tr = el('tr');
  tr.dataset.name = student.name;
  tr.dataset.passed = String(passed(student));
  const name = el('td', student.name, 'name');
  if (student.name !== student.asked_name) {
    name.title = 'Asked for "' + student.asked_name + '", which another machine in the room has';
  }
  tr.append(name);
  for (const c of table.checkpoints) {
    const result = student.results[c.id] || 'not-yet';
    const td = el('td', SYMBOL[result] || '—', 'cell ' + result);
    td.dataset.checkpoint = c.id;
    td.dataset.result = result;
    td.title = c.id + ': ' + (WORD[result] || 'not reported yet');
    tr.append(td);
  }

  const where = position(table, student);
  if (where.stuck) tr.classList.add('stuck');
  const on = el('td', where.text, 'on');
  if (where.stuck) on.title = 'Past ' + allowed(table, student.on) + ' min on ' + student.on;
  tr.append(on);

  const why = el('td', student.failure ? undefined : '—', 'why');
  if (student.failure) {
    why.append(el('div', 'expected: ' + student.failure.expected, 'expected'),
      el('div', 'seen: ' + student.failure.seen, 'seen'));
    why.title = student.failure.id + '\nexpected: ' + student.failure.expected + '\nseen: ' + student.failure.seen;
  }
  tr.append(why);

  const hints = el('td', student.hints.length ? undefined : '—', 'hints');
  // In the lesson's order, as the columns.
  const order = id => table.checkpoints.findIndex(c => c.id === id);
  const asked = student.hints.slice().sort((a, b) => order(a.id) - order(b.id));
  asked.forEach((hint, i) => {
    if (i > 0) hints.append(document.createTextNode(', '));
    const span = el('span', hint.id + ' · ' + (LEVEL[hint.level] || hint.level), 'hint level-' + hint.level);
    span.dataset.level = String(hint.level);
    span.title = hint.id + ': hint level ' + hint.level;
    hints.append(span);
  });
  tr.append(hints);

  tr.append(doctor(student.doctor));

  const build = el('td', student.stage ? student.stage + ' · ' + (student.build_id ? student.build_id.slice(0, 8) : '—') : '—', 'build');
  if (student.stage) build.title = student.stage + ' in ' + student.browser + ', build ' + (student.build_id || 'unknown');
  tr.append(build);
  return tr;
}

function doctor(report) {
  if (!report) return el('td', '—', 'doctor');
  const failing = report.lines.filter(line => !line.ok);
  const td = el('td', undefined, 'doctor ' + (failing.length ? 'not-ok' : 'ok'));
  td.append(el('div', failing.length ? '✗ ' + failing.length + ' to fix' : '✓ set up', 'verdict'));
  for (const line of failing) td.append(el('div', line.check + ': ' + line.detail, 'problem'));
  td.title = 'cargo xtask doctor, ' + ago(now() - report.at) + ':\n' +
    report.lines.map(line => (line.ok ? '✓ ' : '✗ ') + line.check + (line.detail ? ': ' + line.detail : '')).join('\n');
  return td;
}

function render(table) {
  document.getElementById('room-code').textContent = table.code;
  header(table);
  const rows = sorted(table).map(student => row(table, student));
  document.getElementById('students').replaceChildren(...rows);
  document.getElementById('room').hidden = rows.length === 0;
  document.getElementById('controls').hidden = rows.length === 0;
  document.getElementById('empty').hidden = rows.length > 0;
  const stuck = rows.filter(tr => tr.classList.contains('stuck')).length;
  document.getElementById('stuck-count').textContent = stuck ? stuck + ' stuck' : '';

  const list = document.getElementById('checkpoints');
  list.replaceChildren(...table.checkpoints.map(c => {
    const li = el('li');
    li.append(el('code', c.id), document.createTextNode(' ' + c.title +
      ' (' + planned(table, c.id) + ' min)'));
    return li;
  }));
}

function setLive(text, down) {
  const live = document.getElementById('live');
  live.textContent = text;
  live.classList.toggle('down', down);
}

// The instructor's choices survive a reload.
function remember(id) {
  const input = document.getElementById(id);
  const saved = localStorage.getItem('room.' + id);
  if (saved !== null) input.value = saved;
  input.addEventListener('input', () => {
    localStorage.setItem('room.' + id, input.value);
    if (latest) render(latest);
  });
}

async function start() {
  remember('stuck-after');
  remember('sort');
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
  // The times move on between reports.
  setInterval(() => { if (latest) render(latest); }, 15000);
}

start();
