// The detail panel beside the list: opens an event (at once from its summary, then in full from the API),
// follows the selection, closes, and copies the event as JSON or as a curl command.

import {api} from './api.js';
import {h} from './dom.js';
import {detailFromSummary, renderDetail} from './detail.js';
import {listView} from './rows.js';
import {state, writeUrl} from './state.js';
import {toast} from './status.js';

const $ = (id) => document.getElementById(id);
const WIDTH_KEY = 'micro-dashboard.panel-width';
const MIN_WIDTH = 320;
const KEY_STEP = 40; // px per arrow press on the resize handle

/** Open an event and put the keyboard in the panel (on its active tab), as a dialog would. */
export async function openAndFocus(id) {
  const opened = openDetail(id);
  focusPanel();
  await opened;
  focusPanel();
}

function focusPanel() {
  const active = $('detail-tabs').querySelector('.tab.active');
  if (active && !$('detail').contains(document.activeElement)) active.focus();
}

export async function openDetail(id) {
  const row = state.byId.get(id);
  if (!row) return;
  const switching = state.openId !== id;
  state.openId = id;
  listView.select(id);
  document.body.classList.add('detail-open');
  $('detail').hidden = false;
  writeUrl();
  if (switching) showDetail(detailFromSummary(row), true);
  let detail;
  try {
    detail = await api(`/api/events/${id}`);
  } catch {
    detail = detailFromSummary(row);
  }
  if (state.openId !== id) return; // the reader moved on meanwhile
  detail.entities = detail.entities || [];
  detail.failures = detail.failures || [];
  detail.row = detail.row || row;
  detail.row.problems = detail.row.problems || [];
  showDetail(detail, false);
}

function showDetail(detail, provisional) {
  state.detail = detail;
  const panel = {title: $('detail-title'), meta: $('detail-meta'), tabs: $('detail-tabs'), body: $('detail-body')};
  // Only a tab the reader picked sticks across events; otherwise each event opens on its best tab.
  const hadFocus = $('detail-tabs').contains(document.activeElement);
  // A value the keyboard was on (the loaded event replacing the one drawn from its summary) keeps the focus.
  const focusedValue = document.activeElement?.closest('#detail-body [data-filter]')?.dataset.filter;
  renderDetail(panel, detail, state.tab, (tab) => {
    state.tab = tab;
    showDetail(state.detail, false);
    $('detail-tabs').querySelector('.tab.active')?.focus();
  });
  if (hadFocus) $('detail-tabs').querySelector('.tab.active')?.focus(); // redrawn tabs keep the keyboard
  if (focusedValue) $('detail-body').querySelector(`[data-filter="${CSS.escape(focusedValue)}"]`)?.focus();
  $('detail').classList.toggle('loading', provisional);
  $('copy-curl').disabled = !detail.curl;
  $('replay').disabled = !detail.request;
  showTabScroll();
}

/** Show tab `index` (0-based) of the open event, as the `1`–`6` keys do. */
export function showTab(index) {
  const tabs = [...$('detail-tabs').querySelectorAll('.tab')];
  if (tabs[index]) tabs[index].click();
}

export function closeDetail() {
  if (!state.openId) return;
  const id = state.openId;
  const hadFocus = $('detail').contains(document.activeElement);
  state.openId = null;
  state.detail = null;
  $('detail').hidden = true;
  document.body.classList.remove('detail-open');
  writeUrl();
  if (hadFocus || document.activeElement === document.body) {
    listView.select(id); // back to the row the panel showed
    $('list').focus();
  }
}

/** curl's command on several lines, one option each, as a shell reads it. */
export function multiLineCurl(command) {
  return command.replace(/ (-H|--data-binary) /g, ' \\\n  $1 ');
}

/** Send the stored request to the collector again, from this page, as the tracker sent it. */
async function replay() {
  const r = state.detail && state.detail.request;
  if (!r) return;
  let body = r.body;
  if (typeof body === 'string' && body.startsWith('base64:')) {
    body = Uint8Array.from(atob(body.slice(7)), (c) => c.charCodeAt(0));
  }
  const url = `${r.path}${r.querystring ? `?${r.querystring}` : ''}`;
  const options = {method: r.method, credentials: 'omit'};
  if (r.method !== 'GET' && r.method !== 'HEAD' && body !== null && body !== undefined) {
    options.body = body;
    if (r.content_type) options.headers = {'Content-Type': r.content_type};
  }
  try {
    const response = await fetch(url, options);
    toast(response.ok ? 'Replayed: the copy arrives as a duplicate' : `Replay answered ${response.status}`);
  } catch (err) {
    toast(`Replay failed: ${err.message}`);
  }
}

function applyWidth(width) {
  const max = Math.max(MIN_WIDTH, innerWidth - 320);
  const clamped = Math.round(Math.min(max, Math.max(MIN_WIDTH, width)));
  $('detail').style.flexBasis = `${clamped}px`; // through the CSSOM: the CSP forbids style attributes
  $('detail-resize').setAttribute('aria-valuenow', String(clamped));
  return clamped;
}

function saveWidth(width) {
  localStorage.setItem(WIDTH_KEY, String(applyWidth(width)));
}

/** The panel is resizable by dragging its edge or with arrows on it; its width is kept for the next visit. */
function wireResize() {
  const handle = $('detail-resize');
  const saved = Number(localStorage.getItem(WIDTH_KEY));
  if (saved) applyWidth(saved);
  handle.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    const right = $('detail').getBoundingClientRect().right;
    const move = (m) => applyWidth(right - m.clientX);
    const up = (u) => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      saveWidth(right - u.clientX);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
  });
  handle.addEventListener('keydown', (e) => {
    const step = {ArrowLeft: KEY_STEP, ArrowRight: -KEY_STEP}[e.key];
    if (!step) return;
    e.preventDefault();
    e.stopPropagation();
    saveWidth($('detail').getBoundingClientRect().width + step);
  });
}

/** The tab bar's arrows show when its tabs overflow (a narrow window, a wide panel of tabs). */
function showTabScroll() {
  const bar = $('detail-tabs');
  const overflow = bar.scrollWidth > bar.clientWidth + 1;
  $('tabs-left').hidden = !overflow || bar.scrollLeft <= 0;
  $('tabs-right').hidden = !overflow || bar.scrollLeft + bar.clientWidth >= bar.scrollWidth - 1;
}

/** Arrow keys move between tabs (and show them), Home and End go to the first and last. */
function wireTabs() {
  const bar = $('detail-tabs');
  bar.addEventListener('keydown', (e) => {
    const tabs = [...bar.querySelectorAll('.tab')];
    const index = tabs.indexOf(document.activeElement);
    const to = {ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: tabs.length - 1}[e.key];
    if (index < 0 || to === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    tabs[(to + tabs.length) % tabs.length].click();
  });
  bar.addEventListener('scroll', showTabScroll, {passive: true});
  new ResizeObserver(showTabScroll).observe(bar);
  $('tabs-left').addEventListener('click', () => bar.scrollBy({left: -bar.clientWidth / 2}));
  $('tabs-right').addEventListener('click', () => bar.scrollBy({left: bar.clientWidth / 2}));
  bar.addEventListener('focusin', (e) => e.target.scrollIntoView({block: 'nearest', inline: 'nearest'}));
}

export async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (no permission, or plain http on another host): the old way still works.
    const area = h('textarea', {class: 'offscreen'});
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  toast(`Copied ${what}`);
}

/** Wire the panel's own buttons. */
export function wirePanel() {
  $('detail-close').addEventListener('click', closeDetail);
  $('copy-json').addEventListener('click', () => {
    const d = state.detail;
    if (d) copy(JSON.stringify(d.event ?? d, null, 2), 'JSON');
  });
  $('copy-curl').addEventListener('click', () => {
    if (state.detail && state.detail.curl) copy(multiLineCurl(state.detail.curl), 'curl command');
  });
  $('replay').addEventListener('click', replay);
  wireResize();
  wireTabs();
}
