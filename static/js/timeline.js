// The timeline above the list: events per minute for the last half hour, valid and invalid; a click on a
// minute filters the list to it.

import {api} from './api.js';
import {h, replace} from './dom.js';
import {hhmm} from './format.js';
import {filterParams, state} from './state.js';

const $ = (id) => document.getElementById(id);
const TIMELINE_MINUTES = 30;
const REFRESH_MS = 1500; // at most this often while events stream in

let onChoose = () => {};
let statsTimer = null;
let statsAt = 0;

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
  let stats;
  try {
    stats = await api(`/api/stats?${filterParams({withMinute: false})}`);
  } catch {
    $('timeline').hidden = true;
    return;
  }
  $('timeline').hidden = false;
  drawTimeline(stats.minutes || []);
}

function drawTimeline(minutes) {
  const byStart = new Map(minutes.map((m) => [m.start, m]));
  const now = Math.floor(Date.now() / 60e3) * 60e3;
  const newest = minutes.length ? Math.max(...minutes.map((m) => m.start)) : now;
  // Show the last half hour, or the last half hour that had events when they are all older.
  const windowHasData = minutes.some((m) => m.start > now - TIMELINE_MINUTES * 60e3);
  const end = windowHasData ? now : newest;
  const buckets = [];
  for (let i = TIMELINE_MINUTES - 1; i >= 0; i -= 1) {
    const start = end - i * 60e3;
    buckets.push(byStart.get(start) || {start, valid: 0, invalid: 0});
  }
  const busiest = Math.max(0, ...buckets.map((b) => b.valid + b.invalid));
  const peak = Math.max(1, busiest);
  replace($('bars'), buckets.map((b) => {
    const total = b.valid + b.invalid;
    return h('button', {
      class: `bar${state.minute === b.start ? ' chosen' : ''}${total ? '' : ' idle'}`,
      title: `${hhmm(b.start)} — ${b.valid} valid, ${b.invalid} invalid` +
        (total ? ' (click to show this minute)' : ''),
      dataset: {start: String(b.start)},
      'aria-label': `${hhmm(b.start)}: ${b.valid} valid, ${b.invalid} invalid`,
      onclick: () => chooseMinute(b.start),
    },
    barPart('bar-invalid', b.invalid / peak), barPart('bar-valid', b.valid / peak));
  }));
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

/** Filter to one minute; choosing it again (or null) shows every minute. */
export function chooseMinute(start) {
  state.minute = state.minute === start ? null : start;
  onChoose();
}

export function showMinuteChip() {
  const chip = $('minute-chip');
  chip.hidden = !state.minute;
  if (state.minute) replace($('minute-label'), `${hhmm(state.minute)}–${hhmm(state.minute + 60e3)}`);
}
