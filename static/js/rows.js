// The rows of the Events view: kept ascending by id in state.rows, shown newest first by a virtualised list.

import {h} from './dom.js';
import {VirtualList} from './list.js';
import {state} from './state.js';
import {showCounts, showPause} from './status.js';

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

/** New rows from the live feed: held back while paused, else shown at the top. */
export function arrive(list) {
  if (state.paused) {
    const pendingIds = new Set(state.pending.map((r) => r.id));
    state.pending.push(...list.filter((r) => !state.byId.has(r.id) && !pendingIds.has(r.id)));
    showPause();
    return;
  }
  const added = addRows(list);
  state.total += added;
  listView.keepPosition(added);
  showCounts();
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
