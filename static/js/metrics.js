// The Metrics view: every GitLab metric key path with its readings (GET /api/metrics), counted from the stored
// events as GitLab counts them, kept live without a reload: whenever /ws says events changed, the metrics are
// read again (debounced), and a value that moved since the page loaded is highlighted.

import {api} from './api.js';
import {h, replace} from './dom.js';
import {LiveFeed} from './live.js';
import {state} from './state.js';
import {showConnection, showCounts} from './status.js';

const REREAD_MS = 250; // a burst of events becomes one read of /api/metrics once it is this quiet
const MAX_WAIT_MS = 1000; // ...or at least this often while it never is
const $ = (id) => document.getElementById(id);

const view = {
  lastId: 0, // the newest row the feed said exists; the socket resumes after it
  loaded: null, // key path -> moving reading when the page loaded (what "changed" is measured from)
  timer: null,
  firstAsk: 0, // when the pending re-read was first asked for
  generation: 0, // a read answered after a newer one started is dropped
};

/** Read the metrics again soon (debounced): events arrived, changed or were deleted. */
function rereadSoon() {
  const now = Date.now();
  if (!view.timer) view.firstAsk = now;
  clearTimeout(view.timer);
  const wait = Math.max(0, Math.min(REREAD_MS, view.firstAsk + MAX_WAIT_MS - now));
  view.timer = setTimeout(() => {
    view.timer = null;
    reread();
  }, wait);
}

async function reread() {
  const generation = ++view.generation;
  let body;
  try {
    body = await api('/api/metrics');
  } catch (err) {
    if (generation === view.generation) showError(err.message);
    return;
  }
  if (generation !== view.generation) return;
  if (view.loaded === null) view.loaded = new Map(body.metrics.map((m) => [m.key_path, m.moving]));
  draw(body);
}

function showError(text) {
  replace($('metrics-status'), h('span', {class: 'metrics-error'}, `Could not read the metrics: ${text}`));
}

/** A reading as text: integers as they are, sums with at most two decimals. */
function number(value) {
  return typeof value === 'number' ? value.toLocaleString(undefined, {maximumFractionDigits: 2}) : '—';
}

/** How a metric counts: distinct values of its `unique`, a total, or the sum of `value`. */
function counting(metric) {
  if (metric.kind === 'unique') return `distinct ${metric.unique}`;
  if (metric.kind === 'sum') return 'sum of value';
  return 'total';
}

function problemItem(problem) {
  return h('li', {class: `metric-problem p-${problem.severity}`},
    h('span', {class: 'severity'}, problem.severity),
    h('code', {}, problem.line ? `${problem.file}:${problem.line}` : problem.file), ' ', problem.message);
}

function metricRow(metric, problems) {
  const before = view.loaded.has(metric.key_path) ? view.loaded.get(metric.key_path) : 0;
  const changed = metric.moving !== before;
  const all = metric.time_frame === 'all';
  const events = metric.events.map((e) => e.name + (e.filter ? ` ${JSON.stringify(e.filter)}` : '')).join(', ');
  return h('tr', {class: changed ? 'metric changed' : 'metric', dataset: {keyPath: metric.key_path}},
    h('td', {class: 'key-path'},
      h('code', {title: metric.description || ''}, metric.key_path),
      h('div', {class: 'metric-meta muted'}, `${counting(metric)} of ${events}`)),
    h('td', {class: 'frame'}, metric.time_frame),
    h('td', {class: 'reading moving', title: all ? 'every event kept'
      : 'moving: the ISO weeks from that of now-' + metric.time_frame + ' through this one (GitLab\'s monitor)'},
    h('span', {class: 'value'}, number(metric.moving)),
    changed ? h('span', {class: 'delta', title: 'since this page loaded'},
      `${metric.moving > before ? '+' : ''}${number(metric.moving - before)}`) : null),
    h('td', {class: 'reading production', title: all ? 'every event kept'
      : 'production: the last complete ISO week (or four), as Service Ping reports'},
    all ? h('span', {class: 'muted'}, '=') : number(metric.production)),
    h('td', {class: 'definition'},
      h('code', {class: 'muted'}, metric.line ? `${metric.file}:${metric.line}` : metric.file),
      problems.length ? h('ul', {class: 'metric-problems'}, problems.map(problemItem)) : null));
}

function draw(body) {
  const byFile = new Map();
  for (const problem of body.problems) {
    if (!byFile.has(problem.file)) byFile.set(problem.file, []);
    byFile.get(problem.file).push(problem);
  }
  const changed = body.metrics.filter((m) => m.moving !== (view.loaded.get(m.key_path) ?? 0)).length;
  replace($('metrics-status'),
    body.configured ? `${body.metrics.length} key paths from ${body.dirs.join(', ')}` : 'No GitLab definitions loaded.',
    body.configured ? h('span', {class: 'muted'}, ` · read ${new Date().toLocaleTimeString()}`) : null,
    changed ? h('span', {class: 'changed-count'}, ` · ${changed} changed since this page loaded`) : null);
  replace($('metrics-problems'), body.problems.length
    ? [h('h3', {}, `Definition problems (${body.problems.length})`), h('ul', {}, body.problems.map(problemItem))]
    : null);
  if (!body.configured) {
    replace($('metrics-table'), h('p', {class: 'empty-note'},
      'Start the dashboard with --definitions DIR (a GitLab checkout, or a folder with config/events and ' +
      'config/metrics) to count its metrics here.'));
    return;
  }
  replace($('metrics-table'), h('table', {class: 'metrics'},
    h('thead', {}, h('tr', {},
      ['Key path', 'Frame', 'Moving', 'Production', 'Definition'].map((label) => h('th', {scope: 'col'}, label)))),
    h('tbody', {}, body.metrics.map((m) => metricRow(m, byFile.get(m.file) || [])))));
}

/** The Metrics view: read the metrics, then follow /ws and read them again whenever events change. */
export function mountMetrics() {
  $('metrics-view').hidden = false;
  const feed = new LiveFeed({
    cursor: () => view.lastId,
    query: () => '',
    handlers: {
      hello(data) {
        view.lastId = Math.max(view.lastId, data.last_id || 0);
        state.counts = {...data.counts};
        showCounts();
        rereadSoon(); // also after a reconnect: what happened meanwhile
      },
      event(summary) {
        view.lastId = Math.max(view.lastId, summary.id);
        rereadSoon();
      },
      update: rereadSoon,
      counts(counts) {
        state.counts = {...counts};
        showCounts();
        rereadSoon();
      },
      reset(counts) {
        state.counts = {...counts};
        showCounts();
        rereadSoon();
      },
      pruned({counts}) {
        state.counts = {...counts};
        showCounts();
        rereadSoon();
      },
      state: showConnection,
      poll: () => reread(),
    },
  });
  // Start after the newest row: the metrics are read, not replayed.
  api('/api/events?limit=1').then((page) => {
    view.lastId = page.last_id || 0;
  }, () => {}).finally(() => {
    reread();
    feed.start();
  });
  window.microDashboard = {state, feed, metrics: view};
}
