// The rows of the Events view: kept ascending by id in state.rows, shown newest first by a virtualised list.

import {h} from './dom.js';
import {VirtualList} from './list.js';
import {state} from './state.js';
import {showCounts, showNewPill, showPause} from './status.js';

export const header = h('div', {class: 'row header', role: 'row'});

export const model = {
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

export let listView = null; // the VirtualList, once mounted

/** Show the rows in `viewport`; events: {open(id), nearEnd()}. */
export function mountList(viewport, events) {
  listView = new VirtualList(viewport, header, model, events);
  return listView;
}

/** Add rows (any order) to the list, or merge the columns of rows already in it; returns how many are new. */
export function addRows(list) {
  let added = 0;
  let ordered = true;
  const oldest = state.rows.length ? state.rows[0].id : Infinity;
  if (list.length && list.every((row) => row.id < oldest && !state.byId.has(row.id))) {
    // An older page: put it in front in one step rather than sorting every row held.
    const older = [...list].sort((a, b) => a.id - b.id);
    for (const row of older) {
      state.byId.set(row.id, row);
      rememberEventId(row);
    }
    state.rows = older.concat(state.rows);
    return older.length;
  }
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
    rememberEventId(row);
    added += 1;
  }
  if (!ordered) state.rows.sort((a, b) => a.id - b.id);
  return added;
}

function rememberEventId(row) {
  if (row.event_id) state.eventIds.add(row.event_id);
}

/** Mark live rows whose event_id a row already held carries (a replay, a tracker's retry); the API marks the rows
 * of its pages itself, against every stored row. */
function markDuplicates(list) {
  for (const row of list) {
    if (row.duplicate === undefined) row.duplicate = Boolean(row.event_id && state.eventIds.has(row.event_id));
    rememberEventId(row);
  }
}

/** New rows from the live feed: held back while paused, else shown at the top. */
export function arrive(list) {
  const now = performance.now();
  for (const row of list) row.arrivedAt = row.arrivedAt || now;
  if (state.paused) {
    const pendingIds = new Set(state.pending.map((r) => r.id));
    state.pending.push(...list.filter((r) => !state.byId.has(r.id) && !pendingIds.has(r.id)));
    showPause();
    return;
  }
  markDuplicates(list.filter((row) => !state.byId.has(row.id)));
  const added = addRows(list);
  state.total += added;
  if (added && !listView.atTop()) state.unseen += added; // the reader is further down: say so, do not jump
  listView.keepPosition(added);
  showCounts();
  showNewPill();
}

/** A row already sent changed on the server (re-validated): show it as it is now; returns it, or null when
 * it is not loaded here. */
export function updateRow(summary) {
  const known = state.byId.get(summary.id) || state.pending.find((r) => r.id === summary.id);
  if (!known) return null;
  Object.assign(known, summary);
  known.rev = (known.rev || 0) + 1; // the list redraws the row
  listView.invalidate();
  return known;
}

/** Show only `list` (a fresh first page). */
export function resetRows(list) {
  state.rows = [];
  state.byId = new Map();
  state.pending = [];
  state.eventIds = new Set();
  state.unseen = 0;
  addRows(list);
  listView.viewport.scrollTop = 0;
  listView.invalidate();
  showPause();
  showCounts();
}

/** Retention deleted every row below `oldestId`: drop them here too. */
export function dropOlderThan(oldestId) {
  const kept = state.rows.filter((r) => r.id >= oldestId);
  if (kept.length === state.rows.length) return;
  for (const row of state.rows) if (row.id < oldestId) state.byId.delete(row.id);
  state.total = Math.max(0, state.total - (state.rows.length - kept.length));
  state.rows = kept;
  listView.invalidate();
}

/** Pause the list while reading; resuming shows what arrived meanwhile. */
export function togglePause() {
  state.paused = !state.paused;
  if (!state.paused) {
    const pending = state.pending;
    state.pending = [];
    arrive(pending);
  }
  showPause();
}
