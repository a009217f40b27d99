// Keeping the list in step with the server: the newest page of the view from the API, older pages on scroll,
// then the live feed, which replays and pushes only the rows matching the view, with its columns (a
// websocket, or polling the API when no socket opens); and deletes.

import {api} from './api.js';
import {setColumns, wantedColumns} from './columns.js';
import {replace} from './dom.js';
import {LiveFeed} from './live.js';
import {closeDetail, openDetail} from './panel.js';
import {addRows, arrive, dropOlderThan, listView, resetRows, updateRow} from './rows.js';
import {RANGES, filterParams, isFiltered, state} from './state.js';
import {followCounts, plural, showConnection, showCounts, showSearchError, toast, viewTotal} from './status.js';
import {bucketLabel, countArrival, refreshStats, statsSoon} from './timeline.js';

const PAGE = 500; // rows per API page
const $ = (id) => document.getElementById(id);

/** The view as query parameters: its filters (none while they are refused) and the extra columns it shows. */
function viewParams(extra = {}) {
  const params = state.filterError ? new URLSearchParams() : filterParams();
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) params.set(k, String(v));
  const columns = wantedColumns();
  if (columns.length) params.set('columns', columns.join(','));
  return params;
}

/** Every row after `since` matching the view, oldest first (paging down with before= when there are many). */
async function fetchSince(since) {
  const found = [];
  let before = null;
  for (;;) {
    const page = await api(`/api/events?${viewParams({since, before, limit: PAGE})}`);
    found.push(...page.events);
    if (page.events.length < PAGE || !page.next_before) break;
    before = page.next_before;
  }
  return found.reverse();
}

/** The server's sentence when it cannot read the search, else null (asked of /api/search-help, which answers 200
 * either way, so that typing never logs a failed request). */
async function searchRefusal(search) {
  if (!search.trim()) return null;
  try {
    const answer = await api(`/api/search-help?${new URLSearchParams({search: search.trim()})}`);
    return answer.check && !answer.check.ok ? answer.check.error : null;
  } catch {
    return null; // an older server: /api/events will say
  }
}

/** Show that the view's search was refused: no rows, no total, the feed unfiltered for the counts. */
function refuse(message) {
  showSearchError(message);
  state.filterError = true;
  state.cursor = 0;
  resetRows([]);
  feed.start();
}

/** Load the newest page of the view from the API, then follow it live (after a filter change, a clear, or
 * at start). */
export async function reload() {
  const generation = ++state.loadGeneration;
  feed.suspend(); // the old filters' feed must not add rows to the new view
  showSearchError(null);
  state.filterError = false;
  const refusal = await searchRefusal(state.search);
  if (generation !== state.loadGeneration) return;
  if (refusal) {
    refuse(refusal);
    return;
  }
  let page;
  try {
    page = await api(`/api/events?${viewParams({limit: PAGE})}`);
  } catch (err) {
    if (generation !== state.loadGeneration) return;
    const badColumn = err.status === 400 && err.body && err.body.detail && err.body.detail.column;
    if (badColumn && state.columns.includes(badColumn)) {
      // A shared URL or an old choice names a field this dashboard has never seen: drop it, keep the view.
      toast(`Unknown column ${badColumn} removed`);
      setColumns(state.columns.filter((c) => c !== badColumn)); // reloads
      return;
    }
    // An older server without the JSON API (404) has the websocket replay alone fill the list.
    state.apiMissing = err.status === 404;
    if (err.status === 400) {
      refuse(err.message); // the list stays empty; the feed, unfiltered, still brings the counts
      return;
    }
    state.cursor = 0;
    resetRows([]);
    feed.start();
    return;
  }
  if (generation !== state.loadGeneration) return; // a newer reload is on its way
  state.apiMissing = false;
  state.nextBefore = page.next_before;
  state.total = page.total ?? page.events.length;
  state.totalExact = page.total_exact !== false; // beyond the server's cap the total is "at least"
  state.cursor = page.events.length ? page.events[0].id : 0; // the feed replays whatever matched since
  resetRows(page.events);
  feed.start();
  refreshStats();
}

export async function loadOlder() {
  if (state.loadingOlder || !state.nextBefore || state.apiMissing || state.filterError) return;
  state.loadingOlder = true;
  const generation = state.loadGeneration;
  try {
    const page = await api(`/api/events?${viewParams({before: state.nextBefore, limit: PAGE})}`);
    if (generation !== state.loadGeneration) return;
    state.nextBefore = page.next_before;
    addRows(page.events);
    listView.schedule();
    showCounts(); // "500 of 6,071" becomes "1,000 of 6,071", then "6,071 events"
  } catch {
    // Scrolling further retries.
  } finally {
    state.loadingOlder = false;
  }
}

export const feed = new LiveFeed({
  cursor: () => state.cursor,
  query: () => viewParams(),
  handlers: {
    hello(data) {
      state.counts = {...data.counts};
      showCounts();
    },
    counts(counts) {
      // Sent after every change, filtered feed or not: the totals of every row there is.
      state.counts = {...counts};
      showCounts();
    },
    event(row) {
      state.cursor = Math.max(state.cursor, row.id);
      if (!state.filterError) {
        arrive([row]);
        countArrival(row);
      }
    },
    update(row) {
      if (!updateRow(row)) return;
      statsSoon();
      if (state.openId === row.id) openDetail(row.id); // the open panel shows the event as it is now
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
      dropOlderThan(oldestId);
      showCounts();
      statsSoon(); // the timeline's oldest minutes may have lost rows
    },
    state: showConnection,
    async poll(since) {
      const [counts, events] = await Promise.all([api('/micro/all'), fetchSince(since)]);
      state.counts = counts;
      state.cursor = Math.max(since, ...events.map((r) => r.id));
      if (!state.filterError) arrive(events);
      showCounts();
      statsSoon();
    },
  },
});

/** What the view's filter keeps, in words: the search, the time range or minute, and filters from the URL. */
export function viewWords() {
  const words = [];
  if (state.search.trim()) words.push(`matching \`${state.search.trim()}\``);
  const extra = state.extraParams.toString();
  if (extra) words.push(`with ${decodeURIComponent(extra).replaceAll('&', ' and ')}`);
  if (state.minute) words.push(bucketLabel(state.minute));
  else if (RANGES[state.range]) words.push({'5m': 'in the last 5 minutes', '1h': 'in the last hour',
    '24h': 'in the last 24 hours'}[state.range]);
  return words.join(' ');
}

/** The Clear dialog's question, exact about what it deletes; redrawn while open as the view's total moves. */
function drawClearMessage() {
  if (!isFiltered()) {
    const total = state.counts.total;
    replace($('clear-message'), total === 1 ? 'Delete the 1 stored event?' : `Delete all ${plural(total, 'event')}?`);
    return;
  }
  const total = state.filterError ? 0 : Math.max(state.total, state.rows.length);
  replace($('clear-message'), `Delete ${viewTotal(total, 'event')} ${viewWords()}?`);
}

followCounts(() => {
  if ($('clear-dialog').open) drawClearMessage();
});

export function askClear() {
  drawClearMessage();
  $('clear-dialog').showModal();
}

export async function clearEvents() {
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
