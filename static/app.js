// micro-dashboard's live event inspector. A client of /ws (live feed) and the JSON API (/api/...):
// everything on this page can also be had as JSON.

import {h, replace} from './js/dom.js';
import {cellText, clock, eventLabel, gitlabColumn, hhmm, shortSchema, stamp, status} from './js/format.js';
import {detailFromSummary, renderDetail} from './js/detail.js';
import {LiveFeed} from './js/live.js';
import {VirtualList} from './js/list.js';

const PAGE = 500; // rows per API page
const RANGES = {'5m': 5 * 60e3, '1h': 3600e3, '24h': 86400e3, all: null};
const TIMELINE_MINUTES = 30;
const COLUMNS_KEY = 'micro-dashboard.columns';
// Fields every row would like for its compact GitLab line; asked of the API alongside chosen columns.
const GITLAB_COLUMNS = ['se_property', 'se_value', 'gitlab_standard.user_id', 'gitlab_standard.project_id',
  'gitlab_standard.namespace_id', 'gitlab_standard.plan'];
const SUMMARY_FIELDS = new Set(['id', 'event_id', 'valid', 'unverified', 'collector_tstamp', 'schema', 'app_id',
  'platform', 'event', 'event_name', 'event_vendor', 'name_tracker', 'user_id', 'se_category', 'se_action',
  'se_label']);

const $ = (id) => document.getElementById(id);

// ---- state ----------------------------------------------------------------------------------------------

const state = {
  search: '',
  range: 'all',
  minute: null, // start (ms) of the timeline minute filtered to, or null
  extraParams: new URLSearchParams(), // raw API filters given in the page URL (?app_id=x), passed through
  columns: [], // chosen extra columns, by API name
  rows: [], // ascending by id; shown newest first
  byId: new Map(),
  pending: [], // rows that arrived while paused
  paused: false,
  nextBefore: null,
  loadingOlder: false,
  total: 0, // rows matching the current filter, by the API
  counts: {total: 0, good: 0, bad: 0},
  helloLastId: 0,
  wsCursor: 0, // the newest row id the live feed has delivered
  apiCursor: 0, // the newest row id the filtered list has been brought up to
  loadGeneration: 0,
  loading: false,
  bufferedLive: [], // live rows received while a reload is in flight
  apiMissing: false,
  openId: null,
  tab: null,
  detail: null,
};

// ---- the URL holds the view -----------------------------------------------------------------------------

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.search = params.get('search') || '';
  state.range = params.get('range') in RANGES ? params.get('range') : 'all';
  state.minute = params.get('minute') ? Number(params.get('minute')) : null;
  const cols = params.get('cols');
  state.columns = cols !== null ? cols.split(',').filter(Boolean) : savedColumns();
  state.wantedId = Number(params.get('event')) || null; // a shared link to one event: opened once loaded
  for (const key of ['search', 'range', 'minute', 'cols', 'event']) params.delete(key);
  state.extraParams = params;
}

/** The columns chosen last time; a value that does not parse (edited by hand, another version) is ignored. */
function savedColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY) || '[]');
    return Array.isArray(saved) ? saved.filter((c) => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

function writeUrl() {
  const params = new URLSearchParams(state.extraParams);
  if (state.search) params.set('search', state.search);
  if (state.range !== 'all') params.set('range', state.range);
  if (state.minute) params.set('minute', String(state.minute));
  if (state.columns.length) params.set('cols', state.columns.join(','));
  if (state.openId) params.set('event', String(state.openId));
  const query = params.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

// ---- the API --------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    // `error` is the sentence for people; `detail` is structured (the token, the known filters).
    super((body && (body.error || (typeof body.detail === 'string' && body.detail))) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {headers: {Accept: 'application/json'}, ...options});
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** The filter of the current view, as API query parameters. */
function filterParams({withMinute = true} = {}) {
  const params = new URLSearchParams(state.extraParams);
  if (state.search.trim()) params.set('search', state.search.trim());
  if (withMinute && state.minute) {
    params.set('from', String(state.minute));
    params.set('to', String(state.minute + 60e3 - 1));
  } else if (RANGES[state.range]) {
    params.set('from', String(Date.now() - RANGES[state.range]));
  }
  return params;
}

function isFiltered() {
  return Boolean(filterParams().toString());
}

/** Columns to ask the API for: the chosen ones it alone knows, and the compact GitLab ones. */
function wantedColumns() {
  return [...new Set([...state.columns.filter((c) => !SUMMARY_FIELDS.has(c)), ...GITLAB_COLUMNS])];
}

function eventsUrl(extra) {
  const params = filterParams();
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) params.set(k, String(v));
  const columns = wantedColumns();
  if (columns.length) params.set('columns', columns.join(','));
  return `/api/events?${params}`;
}

/** Every row after `since` matching the view, oldest first (paging down with before= when there are many). */
async function fetchSince(since) {
  const found = [];
  let before = null;
  let lastId = 0;
  for (;;) {
    const page = await api(eventsUrl({since, before, limit: PAGE}));
    lastId = Math.max(lastId, page.last_id || 0);
    found.push(...page.events);
    if (page.events.length < PAGE || !page.next_before) break;
    before = page.next_before;
  }
  return {events: found.reverse(), lastId};
}

// ---- rows -----------------------------------------------------------------------------------------------

const model = {
  count: () => state.rows.length,
  rowAt: (i) => state.rows[state.rows.length - 1 - i],
  indexOf(id) {
    const rows = state.rows;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (rows[mid].id === id) return rows.length - 1 - mid;
      if (rows[mid].id < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  },
};

/** Add rows (any order) to the list, or merge the columns of rows already in it; returns how many are new. */
function addRows(list) {
  let added = 0;
  let ordered = true;
  for (const row of list) {
    const known = state.byId.get(row.id);
    if (known) {
      if (row.columns) {
        known.columns = {...known.columns, ...row.columns};
        known.rev = (known.rev || 0) + 1;
      }
      continue;
    }
    const last = state.rows[state.rows.length - 1];
    if (last && row.id < last.id) ordered = false;
    state.rows.push(row);
    state.byId.set(row.id, row);
    added += 1;
  }
  if (!ordered) state.rows.sort((a, b) => a.id - b.id);
  return added;
}

/** New rows from the live feed or a catch-up: held back while paused, else shown at the top. */
function arrive(list) {
  const fresh = list.filter((r) => !state.byId.has(r.id));
  if (state.paused) {
    const pendingIds = new Set(state.pending.map((r) => r.id));
    state.pending.push(...fresh.filter((r) => !pendingIds.has(r.id)));
    addRows(list.filter((r) => state.byId.has(r.id))); // column updates of shown rows still apply
    listView.invalidate();
    showPause();
    return;
  }
  const added = addRows(list);
  state.total += added;
  listView.keepPosition(added);
  showCounts();
  enrichSoon(fresh);
}

function resetRows(list) {
  state.rows = [];
  state.byId = new Map();
  state.pending = [];
  addRows(list);
  listView.viewport.scrollTop = 0;
  listView.invalidate();
  showPause();
  showCounts();
}

// ---- loading --------------------------------------------------------------------------------------------

/** Load the newest page of the view from the API (after a filter change, a clear, or at start). */
async function reload() {
  const generation = ++state.loadGeneration;
  state.loading = true;
  state.bufferedLive = [];
  showSearchError(null);
  let page;
  try {
    page = await api(eventsUrl({limit: PAGE}));
  } catch (err) {
    if (generation !== state.loadGeneration) return;
    state.loading = false;
    if (err.status === 404) {
      // An older server without the JSON API: the websocket replay alone fills the list.
      state.apiMissing = true;
      resetRows([]);
      return;
    }
    const badColumn = err.status === 400 && err.body && err.body.detail && err.body.detail.column;
    if (badColumn && state.columns.includes(badColumn)) {
      // A shared URL or an old choice names a field this dashboard has never seen: drop it, keep the view.
      toast(`Unknown column ${badColumn} removed`);
      setColumns(state.columns.filter((c) => c !== badColumn));
      return;
    }
    if (err.status === 400) showSearchError(err.message);
    resetRows([]);
    return;
  }
  if (generation !== state.loadGeneration) return; // a newer reload is on its way
  state.loading = false;
  state.apiMissing = false;
  state.nextBefore = page.next_before;
  state.total = page.total ?? page.events.length;
  const newest = page.events.length ? page.events[0].id : 0;
  state.apiCursor = Math.max(newest, isFiltered() ? page.last_id || 0 : newest);
  if (!state.wsCursor) state.wsCursor = state.apiCursor;
  resetRows(page.events);
  // Rows the socket delivered while this page was being read.
  if (isFiltered()) catchUpSoon();
  else arrive(state.bufferedLive.filter((r) => r.id > state.apiCursor));
  state.bufferedLive = [];
  refreshStats();
}

async function loadOlder() {
  if (state.loadingOlder || !state.nextBefore || state.apiMissing) return;
  state.loadingOlder = true;
  const generation = state.loadGeneration;
  try {
    const page = await api(eventsUrl({before: state.nextBefore, limit: PAGE}));
    if (generation !== state.loadGeneration) return;
    state.nextBefore = page.next_before;
    addRows(page.events);
    listView.invalidate();
  } catch {
    // Scrolling further retries.
  } finally {
    state.loadingOlder = false;
  }
}

let catchUpTimer = null;
let catchingUp = false;

/** A filtered view asks the API which of the rows just committed match it (the socket tells us when). */
function catchUpSoon() {
  clearTimeout(catchUpTimer);
  catchUpTimer = setTimeout(catchUp, 60);
}

async function catchUp() {
  if (catchingUp) return catchUpSoon();
  catchingUp = true;
  const generation = state.loadGeneration;
  const upTo = state.wsCursor; // committed before this request is made, so it will be seen
  try {
    const {events} = await fetchSince(state.apiCursor);
    if (generation !== state.loadGeneration) return;
    arrive(events);
    state.apiCursor = Math.max(state.apiCursor, upTo, ...events.map((r) => r.id));
  } catch {
    // The next live event tries again.
  } finally {
    catchingUp = false;
  }
}

let enrichQueue = [];
let enrichTimer = null;

/** Rows pushed by the socket carry only the summary: fetch the extra columns they should show. */
function enrichSoon(rows) {
  if (state.apiMissing || !rows.length) return;
  const needs = state.columns.some((c) => !SUMMARY_FIELDS.has(c));
  enrichQueue.push(...rows.filter((r) => !r.columns && (needs || r.se_category || r.se_action)));
  if (!enrichQueue.length) return;
  clearTimeout(enrichTimer);
  enrichTimer = setTimeout(async () => {
    const ids = enrichQueue.map((r) => r.id);
    enrichQueue = [];
    try {
      const page = await api(eventsUrl({since: Math.min(...ids) - 1, before: Math.max(...ids) + 1, limit: PAGE}));
      addRows(page.events.filter((r) => state.byId.has(r.id)));
      listView.invalidate();
    } catch {
      // The row shows its summary; that is enough.
    }
  }, 120);
}

// ---- the live feed --------------------------------------------------------------------------------------

const feed = new LiveFeed({
  cursor: () => state.wsCursor,
  handlers: {
    hello(data) {
      state.counts = {...data.counts};
      state.helloLastId = data.last_id;
      showCounts();
      if (isFiltered() && !state.apiMissing) catchUpSoon(); // whatever happened while we were away
    },
    event(row) {
      state.wsCursor = Math.max(state.wsCursor, row.id);
      if (row.id > state.helloLastId) {
        state.counts.total += 1;
        state.counts[row.valid ? 'good' : 'bad'] += 1;
      }
      if (state.loading) state.bufferedLive.push(row);
      else if (isFiltered() && !state.apiMissing) catchUpSoon();
      else arrive([row]);
      statsSoon();
      showCounts();
    },
    reset(counts) {
      // Something was deleted (maybe in another tab): show what is left.
      state.counts = {...counts};
      closeDetail();
      reload();
    },
    pruned({oldest_id: oldestId, counts}) {
      // Retention (--max-events, --max-age) deleted the oldest rows: drop them here too, without a reload.
      state.counts = {...counts};
      const kept = state.rows.filter((r) => r.id >= oldestId);
      if (kept.length !== state.rows.length) {
        for (const row of state.rows) if (row.id < oldestId) state.byId.delete(row.id);
        state.total = Math.max(0, state.total - (state.rows.length - kept.length));
        state.rows = kept;
        listView.invalidate();
      }
      showCounts();
    },
    state: showConnection,
    async poll(since) {
      const [counts, {events, lastId}] = await Promise.all([api('/micro/all'), fetchSince(
        isFiltered() ? state.apiCursor : since)]);
      state.counts = counts;
      state.helloLastId = Math.max(state.helloLastId, lastId);
      const newest = Math.max(since, ...events.map((r) => r.id));
      state.wsCursor = isFiltered() ? Math.max(state.wsCursor, lastId) : newest;
      state.apiCursor = Math.max(state.apiCursor, newest);
      arrive(events);
      showCounts();
      statsSoon();
    },
  },
});

function showConnection(name) {
  const el = $('connection');
  el.dataset.state = name;
  const labels = {live: 'Live', reconnecting: 'Reconnecting…', polling: 'Live (polling)', offline: 'Offline'};
  const titles = {
    live: 'Connected: events appear the moment they are stored.',
    reconnecting: 'The connection dropped; reconnecting and replaying what was missed.',
    polling: 'The websocket cannot be opened (a proxy?); asking the API every 2 seconds instead.',
    offline: 'The dashboard does not answer. Retrying.',
  };
  replace($('connection-label'), labels[name]);
  el.title = titles[name];
}

// ---- counts, title, pause -------------------------------------------------------------------------------

function showCounts() {
  const {good, bad} = state.counts;
  document.title = `${good} ✓ ${bad} ✗ · micro-dashboard`;
  replace($('count-good'), good.toLocaleString());
  replace($('count-bad'), bad.toLocaleString());
  const shown = state.rows.length;
  replace($('shown'), isFiltered()
    ? `${shown.toLocaleString()} of ${Math.max(state.total, shown).toLocaleString()} matching`
    : `${shown.toLocaleString()} of ${Math.max(state.total, shown).toLocaleString()} events`);
  $('empty').hidden = shown > 0;
  replace($('empty-title'), isFiltered() ? 'No events match this view.' : 'Waiting for events…');
  $('empty-hint').hidden = isFiltered();
}

function showPause() {
  const button = $('pause');
  button.classList.toggle('active', state.paused);
  button.setAttribute('aria-pressed', state.paused ? 'true' : 'false');
  replace($('pause-label'), state.paused ? 'Resume' : 'Pause');
  const counter = $('pending');
  counter.hidden = !state.paused;
  replace(counter, `${state.pending.length} new`);
}

function togglePause() {
  state.paused = !state.paused;
  if (!state.paused) {
    const pending = state.pending;
    state.pending = [];
    arrive(pending);
  }
  showPause();
}

// ---- clear ----------------------------------------------------------------------------------------------

function askClear() {
  const filtered = isFiltered();
  replace($('clear-message'), filtered
    ? `Delete the ${Math.max(state.total, state.rows.length).toLocaleString()} events matching this view?`
    : `Delete all ${state.counts.total.toLocaleString()} events?`);
  $('clear-dialog').showModal();
}

async function clearEvents() {
  try {
    await api(`/api/events?${filterParams()}`, {method: 'DELETE'});
  } catch (err) {
    if (err.status === 404 || err.status === 405) await api('/micro/reset', {method: 'POST'});
    else throw err;
  }
  // The socket's reset envelope reloads every tab; reload here too in case the socket is down.
  closeDetail();
  reload();
}

// ---- timeline -------------------------------------------------------------------------------------------

let statsTimer = null;
let statsAt = 0;

/** Refresh the timeline at most every 1.5 s while events stream in. */
function statsSoon() {
  if (statsTimer) return;
  const wait = Math.max(0, 1500 - (Date.now() - statsAt));
  statsTimer = setTimeout(() => {
    statsTimer = null;
    refreshStats();
  }, wait);
}

async function refreshStats() {
  statsAt = Date.now();
  let stats;
  try {
    stats = await api(`/api/stats?${filterParams({withMinute: false})}`);
  } catch {
    $('timeline').hidden = true;
    return;
  }
  $('timeline').hidden = false;
  drawTimeline(stats.minutes || []);
}

function drawTimeline(minutes) {
  const byStart = new Map(minutes.map((m) => [m.start, m]));
  const now = Math.floor(Date.now() / 60e3) * 60e3;
  const newest = minutes.length ? Math.max(...minutes.map((m) => m.start)) : now;
  // Show the last half hour, or the last half hour that had events when they are all older.
  const windowHasData = minutes.some((m) => m.start > now - TIMELINE_MINUTES * 60e3);
  const end = windowHasData ? now : newest;
  const buckets = [];
  for (let i = TIMELINE_MINUTES - 1; i >= 0; i -= 1) {
    const start = end - i * 60e3;
    buckets.push(byStart.get(start) || {start, valid: 0, invalid: 0});
  }
  const busiest = Math.max(0, ...buckets.map((b) => b.valid + b.invalid));
  const peak = Math.max(1, busiest);
  const bars = buckets.map((b) => {
    const total = b.valid + b.invalid;
    const bar = h('button', {
      class: `bar${state.minute === b.start ? ' chosen' : ''}${total ? '' : ' idle'}`,
      title: `${hhmm(b.start)} — ${b.valid} valid, ${b.invalid} invalid${total ? ' (click to show this minute)' : ''}`,
      dataset: {start: String(b.start)},
      'aria-label': `${hhmm(b.start)}: ${b.valid} valid, ${b.invalid} invalid`,
      onclick: () => chooseMinute(b.start),
    },
    h('span', {class: 'bar-invalid', style: `height:${(b.invalid / peak) * 100}%`}),
    h('span', {class: 'bar-valid', style: `height:${(b.valid / peak) * 100}%`}));
    return bar;
  });
  replace($('bars'), bars);
  replace($('timeline-start'), hhmm(buckets[0].start));
  replace($('timeline-end'), hhmm(buckets[buckets.length - 1].start));
  replace($('timeline-peak'), busiest ? `peak ${busiest}/min` : 'no events');
}

function chooseMinute(start) {
  state.minute = state.minute === start ? null : start;
  applyView();
}

function showMinuteChip() {
  const chip = $('minute-chip');
  chip.hidden = !state.minute;
  if (state.minute) replace($('minute-label'), `${hhmm(state.minute)}–${hhmm(state.minute + 60e3)}`);
}

// ---- columns --------------------------------------------------------------------------------------------

function chip(text, cls, title) {
  return h('span', {class: `chip ${cls}`, title}, text);
}

/** The event cell: what happened, then for structured events the label/property/value and GitLab ids. */
function eventCell(row) {
  const parts = [h('span', {class: 'ev-name'}, eventLabel(row))];
  const cols = row.columns || {};
  if (row.se_label) parts.push(chip(row.se_label, 'c-label', 'label'));
  if (cols.se_property) parts.push(chip(cellText(cols.se_property), 'c-prop', 'property'));
  if (cols.se_value !== undefined && cols.se_value !== null) parts.push(chip(cellText(cols.se_value), 'c-val', 'value'));
  const gitlab = [['user_id', 'u'], ['project_id', 'p'], ['namespace_id', 'ns'], ['plan', '']]
    .map(([key, prefix]) => [key, prefix, gitlabColumn(row, key)])
    .filter(([, , v]) => v !== undefined && v !== null && v !== '');
  if (gitlab.length) {
    parts.push(h('span', {class: 'gl', title: 'gitlab_standard'},
      gitlab.map(([key, prefix, value]) => h('span', {title: key}, prefix ? `${prefix}:${cellText(value)}` : cellText(value)))));
  }
  if (!row.valid && row.problems && row.problems.length) {
    parts.push(h('span', {class: 'ev-problem', title: row.problems.map((p) => p.message).join('\n')},
      row.problems[0].message));
  }
  return parts;
}

const BUILTIN = [
  {key: 'time', label: 'Time', kind: 'time', width: '108px',
    render: (r) => h('span', {title: stamp(r.collector_tstamp)}, clock(r.collector_tstamp))},
  {key: 'app', label: 'App', kind: 'app', width: 'minmax(100px, 1.2fr)', render: (r) => r.app_id || ''},
  {key: 'event', label: 'Event', kind: 'event', width: 'minmax(240px, 4fr)', render: eventCell},
  {key: 'schema', label: 'Schema', kind: 'schema', width: 'minmax(120px, 1.6fr)',
    render: (r) => h('span', {title: r.schema || ''}, shortSchema(r.schema))},
  {key: 'tracker', label: 'Tracker', kind: 'tracker', width: 'minmax(70px, .8fr)', render: (r) => r.name_tracker || ''},
];
const STATUS_COLUMN = {key: 'status', label: 'Status', kind: 'status', width: '92px',
  render: (r) => h('span', {class: `badge b-${status(r)}`}, status(r))};

function extraColumn(name) {
  return {key: name, label: name, kind: 'extra', width: 'minmax(120px, 1.5fr)', render: (r) => {
    const value = SUMMARY_FIELDS.has(name) ? r[name] : (r.columns || {})[name];
    const text = cellText(value);
    return h('span', {title: text}, text);
  }};
}

function currentColumns() {
  return [...BUILTIN, ...state.columns.map(extraColumn), STATUS_COLUMN];
}

function applyColumns() {
  const columns = currentColumns();
  const template = columns.map((c) => c.width).join(' ');
  const viewport = $('list');
  viewport.style.setProperty('--columns', template);
  const minimum = columns.reduce((sum, c) => sum + parseInt(/\d+/.exec(c.width)[0], 10), 0);
  viewport.style.setProperty('--min-width', `${minimum + 24}px`);
  replace(header, columns.map((c) => h('div', {class: `cell c-${c.kind}`, role: 'columnheader', title: c.label},
    c.label, c.kind === 'extra' ? h('button', {class: 'remove-col', title: `Remove column ${c.label}`,
      'aria-label': `Remove column ${c.label}`, onclick: () => setColumns(state.columns.filter((x) => x !== c.key))},
    '×') : null)));
  listView.setColumns(columns);
}

function setColumns(columns) {
  const before = wantedColumns().join(',');
  state.columns = columns;
  localStorage.setItem(COLUMNS_KEY, JSON.stringify(columns));
  writeUrl();
  applyColumns();
  // New API-side columns need the rows again; summary fields are already there.
  if (wantedColumns().join(',') !== before) reload();
}

let allColumns = null;

async function openColumnPicker() {
  const dialog = $('columns-dialog');
  const filter = $('columns-filter');
  filter.value = '';
  dialog.showModal();
  if (!allColumns) {
    replace($('columns-list'), h('p', {class: 'muted'}, 'Loading fields…'));
    try {
      allColumns = (await api('/api/columns')).columns;
    } catch {
      allColumns = [...SUMMARY_FIELDS];
    }
  }
  drawColumnList();
  filter.focus();
}

function drawColumnList() {
  const needle = $('columns-filter').value.trim().toLowerCase();
  const chosen = new Set(state.columns);
  const names = [...state.columns, ...allColumns.filter((c) => !chosen.has(c))]
    .filter((c) => !needle || c.toLowerCase().includes(needle));
  replace($('columns-list'), names.slice(0, 400).map((name) => h('label', {class: 'col-option'},
    h('input', {type: 'checkbox', value: name, checked: chosen.has(name), onchange: (e) => {
      setColumns(e.target.checked ? [...state.columns, name] : state.columns.filter((c) => c !== name));
    }}),
    h('span', {}, name))),
  names.length > 400 ? h('p', {class: 'muted'}, `${names.length - 400} more: type to narrow.`) : null);
}

// ---- detail panel ---------------------------------------------------------------------------------------

async function openDetail(id) {
  const row = state.byId.get(id);
  if (!row) return;
  const switching = state.openId !== id;
  state.openId = id;
  listView.select(id);
  document.body.classList.add('detail-open');
  $('detail').hidden = false;
  writeUrl();
  if (switching) showDetail(detailFromSummary(row), true);
  let detail;
  try {
    detail = await api(`/api/events/${id}`);
  } catch {
    detail = detailFromSummary(row);
  }
  if (state.openId !== id) return; // the reader moved on meanwhile
  detail.entities = detail.entities || [];
  detail.failures = detail.failures || [];
  detail.row = detail.row || row;
  detail.row.problems = detail.row.problems || [];
  showDetail(detail, false);
}

function showDetail(detail, provisional) {
  state.detail = detail;
  const panel = {title: $('detail-title'), meta: $('detail-meta'), tabs: $('detail-tabs'), body: $('detail-body')};
  // Only a tab the reader picked sticks across events; otherwise each event opens on its best tab.
  renderDetail(panel, detail, state.tab, (tab) => {
    state.tab = tab;
    showDetail(state.detail, false);
  });
  $('detail').classList.toggle('loading', provisional);
  $('copy-curl').disabled = !detail.curl;
}

function closeDetail() {
  if (!state.openId) return;
  state.openId = null;
  state.detail = null;
  $('detail').hidden = true;
  document.body.classList.remove('detail-open');
  writeUrl();
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (no permission, or plain http on another host): the old way still works.
    const area = h('textarea', {class: 'offscreen'});
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  toast(`Copied ${what}`);
}

function toast(text) {
  const el = $('toast');
  replace(el, text);
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 1600);
}

// ---- selection and keyboard -----------------------------------------------------------------------------

function moveSelection(step) {
  const count = model.count();
  if (!count) return;
  const current = listView.selectedId === null ? -1 : model.indexOf(listView.selectedId);
  const index = Math.min(count - 1, Math.max(0, current + step));
  const id = model.rowAt(index).id;
  listView.select(id);
  if (state.openId) openDetail(id); // reading along: the panel follows the selection
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = e.target.closest('input, textarea, select, [contenteditable]');
  if (document.querySelector('dialog[open]')) return;
  if (e.key === 'Escape') {
    if (typing) e.target.blur();
    else closeDetail();
    return;
  }
  if (typing) return;
  if (e.key === 'j' || e.key === 'ArrowDown') moveSelection(1);
  else if (e.key === 'k' || e.key === 'ArrowUp') moveSelection(-1);
  else if (e.key === 'Enter' && listView.selectedId !== null) openDetail(listView.selectedId);
  else if (e.key === '/') $('search').focus();
  else return;
  e.preventDefault();
}

// ---- the search box and time presets --------------------------------------------------------------------

function showSearchError(message) {
  const el = $('search-error');
  el.hidden = !message;
  replace(el, message || '');
  $('search').setAttribute('aria-invalid', message ? 'true' : 'false');
}

function showRange() {
  for (const button of document.querySelectorAll('#ranges button')) {
    const on = button.dataset.range === state.range && !state.minute;
    button.classList.toggle('active', on);
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  showMinuteChip();
}

/** A filter changed: remember it in the URL and load the view again. */
function applyView() {
  writeUrl();
  showRange();
  reload();
}

let searchTimer = null;

function wireControls() {
  const search = $('search');
  search.value = state.search;
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(searchTimer);
    state.search = search.value;
    applyView();
  });
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      if (search.value === state.search) return;
      state.search = search.value;
      applyView();
    }, 450);
  });
  for (const button of document.querySelectorAll('#ranges button')) {
    button.addEventListener('click', () => {
      state.range = button.dataset.range;
      state.minute = null;
      applyView();
    });
  }
  $('minute-clear').addEventListener('click', () => chooseMinute(null));
  $('pause').addEventListener('click', togglePause);
  $('pending').addEventListener('click', togglePause);
  $('clear').addEventListener('click', askClear);
  $('clear-dialog').addEventListener('close', () => {
    if ($('clear-dialog').returnValue === 'delete') clearEvents();
  });
  $('columns').addEventListener('click', openColumnPicker);
  $('columns-filter').addEventListener('input', drawColumnList);
  $('columns-reset').addEventListener('click', () => {
    setColumns([]);
    drawColumnList();
  });
  $('detail-close').addEventListener('click', closeDetail);
  $('copy-json').addEventListener('click', () => {
    const d = state.detail;
    if (d) copy(JSON.stringify(d.event ?? d, null, 2), 'JSON');
  });
  $('copy-curl').addEventListener('click', () => {
    if (state.detail && state.detail.curl) copy(state.detail.curl, 'curl command');
  });
  document.addEventListener('keydown', onKey);
  replace($('collector-url'), location.origin);
}

// ---- start ----------------------------------------------------------------------------------------------

const header = h('div', {class: 'row header', role: 'row'});
const listView = new VirtualList($('list'), header, model, {
  open: (id) => openDetail(id),
  nearEnd: () => loadOlder(),
});

readUrl();
wireControls();
showRange();
applyColumns();
showPause();
showCounts();
writeUrl();
reload().then(() => {
  feed.start();
  if (state.wantedId && state.byId.has(state.wantedId)) openDetail(state.wantedId);
});
// A handle for tests and for the curious: the state, and a way to drop the socket as a network failure would.
window.microDashboard = {state, feed};
setInterval(statsSoon, 30e3); // the timeline's "now" moves even when nothing arrives
