// Reading with the keyboard: j/k (or arrows) move, Enter opens (into the panel), Escape closes (back to the row),
// 1-6 show a tab, / searches, ? shows the help. A focused button, link or tab keeps its own Enter.

import {closeDetail, openAndFocus, openDetail, showTab} from './panel.js';
import {listView, model} from './rows.js';
import {state} from './state.js';

const OWN_KEYS = 'button, a[href], input, textarea, select, summary, [contenteditable], [role="button"], [role="tab"]';
let showHelp = () => {};

function moveSelection(step) {
  const count = model.count();
  if (!count) return;
  const current = listView.selectedId === null ? -1 : model.indexOf(listView.selectedId);
  const index = Math.min(count - 1, Math.max(0, current + step));
  const id = model.rowAt(index).id;
  listView.select(id);
  if (state.openId) openDetail(id); // reading along: the panel follows the selection
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  const typing = e.target.closest('input, textarea, select, [contenteditable]');
  if (document.querySelector('dialog[open]')) return; // a dialog's own keys (Esc closes it)
  if (e.key === 'Escape') {
    if (typing) e.target.blur();
    else closeDetail();
    return;
  }
  if (typing) return;
  const inList = e.target === document.body || e.target.closest('#list');
  const inPanel = e.target.closest('#detail');
  if (e.key === 'Enter') {
    if (e.target.closest(OWN_KEYS) && !inList) return; // the button is pressed, not the selected row opened
    if (listView.selectedId === null) return;
    openAndFocus(listView.selectedId);
  } else if (e.key === 'j' || e.key === 'k' ||
      ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && !inPanel && !e.target.closest('#bars'))) {
    moveSelection(e.key === 'j' || e.key === 'ArrowDown' ? 1 : -1);
  } else if (/^[1-6]$/.test(e.key) && state.openId) showTab(Number(e.key) - 1);
  else if (e.key === '/') document.getElementById('search').focus();
  else if (e.key === '?') showHelp();
  else return;
  e.preventDefault();
}

/** Listen for the keys; `help()` shows the shortcuts and the search syntax. */
export function wireKeyboard({help}) {
  showHelp = help;
  document.addEventListener('keydown', onKey);
}
