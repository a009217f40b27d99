// Reading with the keyboard: j/k (or arrows) move, Enter opens, Escape closes, / searches.

import {closeDetail, openDetail} from './panel.js';
import {listView, model} from './rows.js';
import {state} from './state.js';

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
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = e.target.closest('input, textarea, select, [contenteditable]');
  if (document.querySelector('dialog[open]')) return;
  if (e.key === 'Escape') {
    if (typing) e.target.blur();
    else closeDetail();
    return;
  }
  if (typing) return;
  if (e.key === 'j' || e.key === 'ArrowDown') moveSelection(1);
  else if (e.key === 'k' || e.key === 'ArrowUp') moveSelection(-1);
  else if (e.key === 'Enter' && listView.selectedId !== null) openDetail(listView.selectedId);
  else if (e.key === '/') document.getElementById('search').focus();
  else return;
  e.preventDefault();
}

export function wireKeyboard() {
  document.addEventListener('keydown', onKey);
}
