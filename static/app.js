// micro-dashboard's page: a client of /ws (live feed) and the JSON API (/api/...); everything on it can also
// be had as JSON. This file only wires the modules in static/js together and mounts the view the URL names.

import {applyColumns, drawColumnList, loadColumnNames, openColumnPicker, setColumns, whenColumnsChange}
  from './js/columns.js';
import {addTab} from './js/detail.js';
import {replace} from './js/dom.js';
import {wireFilterMenu} from './js/filtermenu.js';
import {GITLAB_TAB} from './js/gitlab.js';
import {wireKeyboard} from './js/keyboard.js';
import {mountMetrics} from './js/metrics.js';
import {openAndFocus, openDetail, wirePanel} from './js/panel.js';
import {listView, mountList, togglePause} from './js/rows.js';
import {loadSearchHelp, wireAutocomplete} from './js/search.js';
import {wireSetup} from './js/setup.js';
import {readUrl, state, writeUrl} from './js/state.js';
import {showCounts, showNewPill, showPause, showRange} from './js/status.js';
import {askClear, clearEvents, feed, loadOlder, reload} from './js/sync.js';
import {chooseMinute, redrawTimeline, showMinuteChip, statsSoon, whenMinuteChosen, wireTimelineKeys}
  from './js/timeline.js';
import {mountView, registerView} from './js/views.js';

const $ = (id) => document.getElementById(id);
const SEARCH_PAUSE_MS = 450; // typing pauses this long before the list follows the search box
const TICK_MS = 30e3; // the timeline's "now" moves even when nothing arrives
// How often the timeline's counts are read again from /api/stats, whose counts read the stored rows:
// between reads, arrivals are counted on the page (and changed or deleted rows ask for a read themselves).
const STATS_REREAD_MS = 300e3;

/** A filter changed: remember it in the URL and load the view again (resolved once the view is read). */
function applyView() {
  writeUrl();
  showRange();
  showMinuteChip();
  return reload();
}

let searchTimer = null;

/** Apply what is typed in the search box now, without waiting for the typing pause. */
function applyPendingSearch() {
  clearTimeout(searchTimer);
  const search = $('search');
  if (search.value === state.search) return Promise.resolve();
  state.search = search.value;
  return applyView();
}

/** Add a term (`key:value`, `-key:value`, `has:x`) to the search and apply it. */
function addSearchTerm(term) {
  const search = $('search');
  search.value = `${search.value.trim()} ${term}`.trim();
  applyPendingSearch();
}

function wireSearch() {
  const search = $('search');
  search.value = state.search;
  wireAutocomplete(search);
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
  $('ranges').addEventListener('keydown', (e) => {
    // One tab stop: arrows move between the presets (and choose one, as a radio group does).
    const buttons = [...document.querySelectorAll('#ranges button')];
    const index = buttons.indexOf(document.activeElement);
    const step = {ArrowLeft: -1, ArrowRight: 1}[e.key];
    if (index < 0 || !step) return;
    e.preventDefault();
    const next = buttons[(index + step + buttons.length) % buttons.length];
    next.click();
    next.focus();
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
  // What the box says is what Clear deletes: a search typed within the pause is applied before asking.
  $('clear').addEventListener('click', () => applyPendingSearch().then(askClear));
  $('help').addEventListener('click', showHelp);
  $('new-pill').addEventListener('click', () => {
    $('list').scrollTop = 0;
    $('list').focus();
  });
  $('list').addEventListener('scroll', () => {
    if (state.unseen && listView.atTop()) {
      state.unseen = 0;
      showNewPill();
    }
  }, {passive: true});
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

function showHelp() {
  if (!$('help-dialog').open) $('help-dialog').showModal();
}

/** The Events view: the live list, its filters, the timeline and the detail panel. */
function mountEvents() {
  mountList($('list'), {open: (id) => openDetail(id), nearEnd: () => loadOlder()});
  $('list').addEventListener('keydown', (e) => {
    // Enter on the focused list opens the selected row and moves into the panel.
    if (e.key === 'Enter' && e.target === $('list') && listView.selectedId !== null) {
      e.preventDefault();
      e.stopPropagation();
      openAndFocus(listView.selectedId);
    }
  });
  addTab(GITLAB_TAB, {first: true});
  whenColumnsChange(reload);
  whenMinuteChosen(applyView);
  readUrl();
  wireSearch();
  wireButtons();
  wirePanel();
  wireKeyboard({help: showHelp});
  wireFilterMenu(addSearchTerm);
  wireTimelineKeys();
  wireSetup();
  loadSearchHelp(loadColumnNames());
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
  setInterval(redrawTimeline, TICK_MS);
  setInterval(statsSoon, STATS_REREAD_MS);
}

registerView('events', {label: 'Events', mount: mountEvents});
registerView('metrics', {label: 'Metrics', mount: mountMetrics});
mountView();
