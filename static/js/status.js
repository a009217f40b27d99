// The page's small status displays: counts and title, the registry banner, the pause button, the connection
// light, the search error, the time presets, and the toast. Each one is drawn from the view state, except what
// /api/registries says (which registries answer, how many events could not be checked), kept here.

import {api} from './api.js';
import {replace} from './dom.js';
import {isFiltered, state} from './state.js';

const $ = (id) => document.getElementById(id);
const VERIFY_MS = 1500; // /api/registries is asked at most this often while the unverified count moves
const VERIFY_TICK_MS = 15e3; // and this often when nothing does, to notice a registry that answers again

// What /api/registries said last: the live feed's totals count unverified events as good.
const checks = {unverified: 0, registries: [], unreachable: []};
let verifyTimer = null;
let verifyAt = 0;
let ticking = false;

function drawCounts() {
  const {good, bad} = state.counts;
  // The live feed's totals say how many good rows are unverified; /api/registries says it when polling.
  const unverified = Math.min(state.counts.unverified ?? checks.unverified, good);
  const valid = good - unverified;
  // The title is short: the unverified count shows there when there are any.
  document.title = unverified ? `${valid} ✓ ${unverified} ? ${bad} ✗ · micro-dashboard`
    : `${valid} ✓ ${bad} ✗ · micro-dashboard`;
  replace($('count-good'), valid.toLocaleString());
  replace($('count-unverified'), unverified.toLocaleString());
  replace($('count-bad'), bad.toLocaleString());
}

/** The banner: which registries cannot be reached (or that none is configured), and what that means. */
function drawRegistryBanner() {
  const banner = $('registry-banner');
  const down = checks.registries.filter((r) => r.state === 'unreachable');
  const none = checks.known && !checks.registries.length;
  banner.hidden = !down.length && !none;
  if (banner.hidden) return;
  const count = state.counts.unverified ?? checks.unverified; // the feed's count is the newer one
  const events = count === 1 ? '1 event shows' : `${count.toLocaleString()} events show`;
  if (none) {
    replace($('registry-banner-title'), 'No Iglu registry is configured:');
    replace($('registry-banner-text'), `schemas cannot be checked, so ${events} as unverified rather than valid or invalid.`);
    return;
  }
  const names = down.map((r) => (r.name === r.location ? r.name : `${r.name} (${r.location})`));
  replace($('registry-banner-title'), down.length === 1 ? 'Iglu registry unreachable:' : 'Iglu registries unreachable:');
  replace($('registry-banner-text'),
    `${names.join(', ')} — ${down.map((r) => r.reason).filter(Boolean).join('; ')}` +
    `${down[0].since ? ` (since ${new Date(down[0].since).toLocaleTimeString()})` : ''}. ` +
    `Schemas only ${down.length === 1 ? 'it has' : 'they have'} are not checked: ${events} as unverified ` +
    '(not checked) until a registry answers.');
}

/** Whether the registries may have changed since /api/registries last answered: a registry that fails leaves
 * events unverified, one that answers again has them checked, and either moves the feed's unverified count (a
 * feed without that count, or no answer yet, says nothing). Arrivals that move nothing ask nothing. */
function checksMayHaveMoved() {
  return !checks.known || state.counts.unverified === undefined || state.counts.unverified !== checks.unverified;
}

async function refreshChecks() {
  verifyAt = Date.now();
  try {
    const answer = await api('/api/registries');
    Object.assign(checks, answer, {known: true});
  } catch {
    return; // an older dashboard, or none: the counts stay as the feed gives them
  }
  drawCounts();
  drawRegistryBanner();
}

/** Ask /api/registries soon, at most every VERIFY_MS, when the counts say the answer may have moved; and every
 * VERIFY_TICK_MS from the first call on (a registry may answer again while nothing arrives). */
function checksSoon(always = false) {
  if (!ticking) {
    ticking = true;
    setInterval(() => checksSoon(true), VERIFY_TICK_MS);
  }
  if (verifyTimer || !(always || checksMayHaveMoved())) return;
  verifyTimer = setTimeout(() => {
    verifyTimer = null;
    refreshChecks();
  }, Math.max(0, VERIFY_MS - (Date.now() - verifyAt)));
}

/** `1 event`, `2 events`: a count with its noun in the right number. */
export function plural(count, noun) {
  return `${count.toLocaleString()} ${noun}${count === 1 ? '' : 's'}`;
}

/** The view's total: "10,000+" when the server stopped counting there (total_exact false), a lower bound. */
function totalNumber(count) {
  return state.totalExact === false ? `${count.toLocaleString()}+` : count.toLocaleString();
}

/** The view's total with its noun: "10,000+ events" when it is a lower bound. */
export function viewTotal(count, noun) {
  return state.totalExact === false ? `${totalNumber(count)} ${noun}s` : plural(count, noun);
}

let whenCountsShown = () => {};

/** Call `fn()` whenever the counts are drawn again (an open Clear dialog follows them). */
export function followCounts(fn) {
  whenCountsShown = fn;
}

export function showCounts() {
  drawCounts();
  checksSoon(); // the totals moved (or the page opened): how many are unverified may have too
  const shown = state.rows.length;
  const total = Math.max(state.total, shown);
  // A refused search shows no total at all: "0 of 7,672 matching" would be a wrong answer.
  replace($('shown'), state.filterError ? 'Search not applied: fix it to see events'
    : shown === total ? (isFiltered() ? `${plural(shown, 'event')} matching` : plural(shown, 'event'))
      : `${shown.toLocaleString()} of ${totalNumber(total)} ${isFiltered() ? 'matching' : 'events'}`);
  const nothingStored = !state.counts.total && !shown;
  $('empty').hidden = shown > 0 || state.filterError;
  replace($('empty-title'), isFiltered() && !nothingStored ? 'No events match this view.' : 'Waiting for events…');
  $('empty-hint').hidden = !nothingStored;
  document.body.classList.toggle('no-events', nothingStored); // no empty timeline while there is nothing
  whenCountsShown();
}

/** The "N new ↑" pill: rows that arrived above while the reader is scrolled down. */
export function showNewPill() {
  const pill = $('new-pill');
  pill.hidden = !state.unseen;
  replace(pill, `${state.unseen.toLocaleString()} new ↑`);
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
    button.tabIndex = button.dataset.range === state.range ? 0 : -1; // the group is one tab stop
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
