// micro-dashboard's page: a client of /ws (live feed) and the JSON API (/api/...); everything on it can also
// be had as JSON. This file only wires the modules in static/js together and mounts the view the URL names.

import {applyColumns, drawColumnList, loadColumnNames, openColumnPicker, setColumns, whenColumnsChange}
  from './js/columns.js';
import {addTab} from './js/detail.js';
import {replace} from './js/dom.js';
import {GITLAB_TAB} from './js/gitlab.js';
import {wireKeyboard} from './js/keyboard.js';
import {mountMetrics} from './js/metrics.js';
import {openDetail, wirePanel} from './js/panel.js';
import {mountList, togglePause} from './js/rows.js';
import {readUrl, state, writeUrl} from './js/state.js';
import {showCounts, showPause, showRange} from './js/status.js';
import {askClear, clearEvents, feed, loadOlder, reload} from './js/sync.js';
import {chooseMinute, showMinuteChip, statsSoon, whenMinuteChosen} from './js/timeline.js';
import {mountView, registerView} from './js/views.js';

const $ = (id) => document.getElementById(id);
const SEARCH_PAUSE_MS = 450; // typing pauses this long before the list follows the search box
const TICK_MS = 30e3; // the timeline's "now" moves even when nothing arrives; a filtered view's totals too

/** A filter changed: remember it in the URL and load the view again. */
function applyView() {
  writeUrl();
  showRange();
  showMinuteChip();
  reload();
}

function wireSearch() {
  const search = $('search');
  let searchTimer = null;
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
    }, SEARCH_PAUSE_MS);
  });
  for (const button of document.querySelectorAll('#ranges button')) {
    button.addEventListener('click', () => {
      state.range = button.dataset.range;
      state.minute = null;
      applyView();
    });
  }
}

function wireButtons() {
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
}

/** The Events view: the live list, its filters, the timeline and the detail panel. */
function mountEvents() {
  mountList($('list'), {open: (id) => openDetail(id), nearEnd: () => loadOlder()});
  addTab(GITLAB_TAB, {first: true});
  whenColumnsChange(reload);
  whenMinuteChosen(applyView);
  readUrl();
  wireSearch();
  wireButtons();
  wirePanel();
  wireKeyboard();
  replace($('collector-url'), location.origin);
  showRange();
  showMinuteChip();
  applyColumns();
  showPause();
  showCounts();
  writeUrl();
  // Which chosen columns every row already carries decides which ones the list asks for.
  (state.columns.length ? loadColumnNames() : Promise.resolve()).then(reload).then(() => {
    if (state.wantedId && state.byId.has(state.wantedId)) openDetail(state.wantedId);
  });
  // A handle for tests and for the curious: the state, and a way to drop the socket as a network failure would.
  window.microDashboard = {state, feed};
  setInterval(statsSoon, TICK_MS);
}

registerView('events', {label: 'Events', mount: mountEvents});
registerView('metrics', {label: 'Metrics', mount: mountMetrics});
mountView();
