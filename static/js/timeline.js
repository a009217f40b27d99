// The timeline above the list: events per minute for the last half hour, valid and invalid; a click on a
// minute filters the list to it.

import {api} from './api.js';
import {h, replace} from './dom.js';
import {hhmm} from './format.js';
import {TIMELINE, bucketMs, filterParams, state} from './state.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 1500; // at most this often while events stream in

let onChoose = () => {};
let statsTimer = null;
let statsAt = 0;
let minutesShown = null; // what /api/stats said last, counted on by arrivals
let drawPending = false;

/** Call `fn()` after the reader picks (or drops) a minute. */
export function whenMinuteChosen(fn) {
  onChoose = fn;
}

/** Refresh the timeline soon, at most every REFRESH_MS. */
export function statsSoon() {
  if (statsTimer) return;
  const wait = Math.max(0, REFRESH_MS - (Date.now() - statsAt));
  statsTimer = setTimeout(() => {
    statsTimer = null;
    refreshStats();
  }, wait);
}

export async function refreshStats() {
  statsAt = Date.now();
  if (state.filterError) return; // the view's search was refused: nothing to count (and no 400 to log)
  let stats;
  try {
    stats = await api(`/api/stats?${filterParams({withMinute: false})}`);
  } catch {
    $('timeline').hidden = true;
    return;
  }
  $('timeline').hidden = false;
  minutesShown = stats.minutes || [];
  drawTimeline(minutesShown);
}

/** Move the timeline's "now" on: drawn again from the counts it has (arrivals are counted here), read again
 * from /api/stats only when it has none. */
export function redrawTimeline() {
  if (!minutesShown) return statsSoon();
  drawTimeline(minutesShown);
  return null;
}

/** Count a row that arrived live in its minute, here: asking /api/stats on every arrival made the live delay
 * grow with the database (its counts scan the stored rows). The periodic refresh corrects any drift. */
export function countArrival(row) {
  if (!minutesShown || !row.collector_tstamp) return statsSoon();
  const start = Math.floor(row.collector_tstamp / 60e3) * 60e3;
  let minute = minutesShown.find((m) => m.start === start);
  if (!minute) {
    minute = {start, valid: 0, invalid: 0};
    minutesShown.push(minute);
  }
  minute[row.valid ? 'valid' : 'invalid'] += 1;
  if (drawPending) return null;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    drawTimeline(minutesShown);
  });
  return null;
}

/** The label of a chosen bar: `10:01–10:02`. */
export function bucketLabel(start) {
  return `${hhmm(start)}–${hhmm(start + bucketMs())}`;
}

function drawTimeline(minutes) {
  const {bars, ms} = TIMELINE[state.range];
  const now = Math.floor(Date.now() / ms) * ms;
  const byStart = new Map();
  for (const m of minutes) { // the API counts per minute; a longer bar adds its minutes up
    const start = Math.floor(m.start / ms) * ms;
    const bucket = byStart.get(start) || {start, valid: 0, invalid: 0};
    bucket.valid += m.valid;
    bucket.invalid += m.invalid;
    byStart.set(start, bucket);
  }
  const busy = [...byStart.values()].filter((b) => b.valid + b.invalid).map((b) => b.start);
  const newest = busy.length ? Math.max(...busy) : now;
  // A range shows its own span; All shows the last half hour, or the last half hour that had events.
  const windowHasData = state.range !== 'all' || busy.some((start) => start > now - bars * ms);
  const end = windowHasData ? now : newest;
  const buckets = [];
  for (let i = bars - 1; i >= 0; i -= 1) {
    const start = end - i * ms;
    buckets.push(byStart.get(start) || {start, valid: 0, invalid: 0});
  }
  // A redraw (an arrival, a refresh) keeps the bar the reader moved to with the arrow keys, focused and the tab stop.
  const focusedBar = document.activeElement && document.activeElement.closest('#bars .bar');
  const focusedAt = focusedBar ? buckets.findIndex((b) => String(b.start) === focusedBar.dataset.start) : -1;
  const current = buckets.findIndex((b) => b.start === state.minute);
  const stop = focusedAt >= 0 ? focusedAt : current >= 0 ? current : buckets.length - 1; // the one bar Tab reaches
  const busiest = Math.max(0, ...buckets.map((b) => b.valid + b.invalid));
  const peak = Math.max(1, busiest);
  replace($('bars'), buckets.map((b, i) => {
    const total = b.valid + b.invalid;
    return h('button', {
      class: `bar${state.minute === b.start ? ' chosen' : ''}${total ? '' : ' idle'}`, tabindex: i === stop ? '0' : '-1',
      title: `${hhmm(b.start)} — ${b.valid} valid, ${b.invalid} invalid` +
        (total ? ' (click to show this minute)' : ''),
      dataset: {start: String(b.start)},
      'aria-label': `${hhmm(b.start)}: ${b.valid} valid, ${b.invalid} invalid`,
      onclick: () => chooseMinute(b.start),
    },
    barPart('bar-invalid', b.invalid / peak), barPart('bar-valid', b.valid / peak));
  }));
  if (focusedBar) $('bars').children[stop].focus();
  replace($('timeline-start'), hhmm(buckets[0].start));
  replace($('timeline-end'), hhmm(buckets[buckets.length - 1].start));
  replace($('timeline-peak'), busiest ? `peak ${busiest}/min` : 'no events');
}

/** One part of a bar; its height goes through the CSSOM, which the Content-Security-Policy allows (not a style attribute). */
function barPart(cls, share) {
  const part = h('span', {class: cls});
  part.style.height = `${share * 100}%`;
  return part;
}

/** The timeline is one tab stop: arrows, Home and End move between its bars. */
export function wireTimelineKeys() {
  $('bars').addEventListener('keydown', (e) => {
    const bars = [...$('bars').children];
    const index = bars.indexOf(document.activeElement);
    const to = {ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: bars.length - 1}[e.key];
    if (index < 0 || to === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    const next = bars[Math.max(0, Math.min(bars.length - 1, to))];
    for (const bar of bars) bar.tabIndex = bar === next ? 0 : -1;
    next.focus();
  });
}

/** Filter to one bar's span; choosing it again (or null) shows the whole range. */
export function chooseMinute(start) {
  state.minute = state.minute === start ? null : start;
  onChoose();
}

export function showMinuteChip() {
  const chip = $('minute-chip');
  chip.hidden = !state.minute;
  if (state.minute) replace($('minute-label'), bucketLabel(state.minute));
}
