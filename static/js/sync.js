// Keeping the list in step with the server: the newest page of the view, older pages on scroll, the live
// feed (websocket, or polling the API when no socket opens), and deletes.

import {api} from './api.js';
import {setColumns, SUMMARY_FIELDS, wantedColumns} from './columns.js';
import {replace} from './dom.js';
import {LiveFeed} from './live.js';
import {closeDetail} from './panel.js';
import {addRows, arrive, dropOlderThan, listView, resetRows} from './rows.js';
import {filterParams, isFiltered, state} from './state.js';
import {showConnection, showCounts, showSearchError, toast} from './status.js';
import {refreshStats, statsSoon} from './timeline.js';

const PAGE = 500; // rows per API page
const $ = (id) => document.getElementById(id);

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

/** Load the newest page of the view from the API (after a filter change, a clear, or at start). */
export async function reload() {
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

export async function loadOlder() {
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
export function enrichSoon(rows) {
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

export const feed = new LiveFeed({
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
      dropOlderThan(oldestId);
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

export function askClear() {
  replace($('clear-message'), isFiltered()
    ? `Delete the ${Math.max(state.total, state.rows.length).toLocaleString()} events matching this view?`
    : `Delete all ${state.counts.total.toLocaleString()} events?`);
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
