// The page's small status displays: counts and title, the pause button, the connection light, the search
// error, the time presets, and the toast. Each one is drawn from the view state alone.

import {replace} from './dom.js';
import {isFiltered, state} from './state.js';

const $ = (id) => document.getElementById(id);

export function showCounts() {
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

export function showPause() {
  const button = $('pause');
  button.classList.toggle('active', state.paused);
  button.setAttribute('aria-pressed', state.paused ? 'true' : 'false');
  replace($('pause-label'), state.paused ? 'Resume' : 'Pause');
  const counter = $('pending');
  counter.hidden = !state.paused;
  replace(counter, `${state.pending.length} new`);
}

const CONNECTION_LABELS = {
  live: 'Live', reconnecting: 'Reconnecting…', polling: 'Live (polling)', offline: 'Offline',
};
const CONNECTION_TITLES = {
  live: 'Connected: events appear the moment they are stored.',
  reconnecting: 'The connection dropped; reconnecting and replaying what was missed.',
  polling: 'The websocket cannot be opened (a proxy?); asking the API every 2 seconds instead.',
  offline: 'The dashboard does not answer. Retrying.',
};

export function showConnection(name) {
  const el = $('connection');
  el.dataset.state = name;
  replace($('connection-label'), CONNECTION_LABELS[name]);
  el.title = CONNECTION_TITLES[name];
}

export function showSearchError(message) {
  const el = $('search-error');
  el.hidden = !message;
  replace(el, message || '');
  $('search').setAttribute('aria-invalid', message ? 'true' : 'false');
}

/** Light the chosen time preset (none while one timeline minute is chosen). */
export function showRange() {
  for (const button of document.querySelectorAll('#ranges button')) {
    const on = button.dataset.range === state.range && !state.minute;
    button.classList.toggle('active', on);
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
}

let toastTimer = null;

export function toast(text) {
  const el = $('toast');
  replace(el, text);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 1600);
}
