// The detail panel beside the list: opens an event (at once from its summary, then in full from the API),
// follows the selection, closes, and copies the event as JSON or as a curl command.

import {api} from './api.js';
import {h} from './dom.js';
import {detailFromSummary, renderDetail} from './detail.js';
import {listView} from './rows.js';
import {state, writeUrl} from './state.js';
import {toast} from './status.js';

const $ = (id) => document.getElementById(id);

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
  renderDetail(panel, detail, state.tab, (tab) => {
    state.tab = tab;
    showDetail(state.detail, false);
  });
  $('detail').classList.toggle('loading', provisional);
  $('copy-curl').disabled = !detail.curl;
}

export function closeDetail() {
  if (!state.openId) return;
  state.openId = null;
  state.detail = null;
  $('detail').hidden = true;
  document.body.classList.remove('detail-open');
  writeUrl();
}

async function copy(text, what) {
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
    if (state.detail && state.detail.curl) copy(state.detail.curl, 'curl command');
  });
}
