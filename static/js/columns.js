// The list's columns: the built-in ones, the extra ones the reader picks (any field the API knows), and
// the picker dialog. Extra columns are asked of the API by name; summary fields come with every row.

import {api} from './api.js';
import {h, replace} from './dom.js';
import {cellText, clock, eventLabel, shortSchema, stamp, status} from './format.js';
import {GITLAB_COLUMNS, gitlabIds} from './gitlab.js';
import {header, listView} from './rows.js';
import {saveColumns, state} from './state.js';

const $ = (id) => document.getElementById(id);
const PICKER_LIMIT = 400; // names listed at once; typing narrows the rest
export const SUMMARY_FIELDS = new Set(['id', 'event_id', 'valid', 'unverified', 'collector_tstamp', 'schema',
  'app_id', 'platform', 'event', 'event_name', 'event_vendor', 'name_tracker', 'user_id', 'se_category',
  'se_action', 'se_label']);

let onChange = () => {}; // told when the columns asked of the API change (the rows must be read again)

/** Call `fn()` when a column choice needs the rows read again. */
export function whenColumnsChange(fn) {
  onChange = fn;
}

/** Columns to ask the API for: the chosen ones it alone knows, and the compact GitLab ones. */
export function wantedColumns() {
  return [...new Set([...state.columns.filter((c) => !SUMMARY_FIELDS.has(c)), ...GITLAB_COLUMNS])];
}

function chip(text, cls, title) {
  return h('span', {class: `chip ${cls}`, title}, text);
}

/** The event cell: what happened, then for structured events the label/property/value and GitLab ids. */
function eventCell(row) {
  const parts = [h('span', {class: 'ev-name'}, eventLabel(row))];
  const cols = row.columns || {};
  if (row.se_label) parts.push(chip(row.se_label, 'c-label', 'label'));
  if (cols.se_property) parts.push(chip(cellText(cols.se_property), 'c-prop', 'property'));
  if (cols.se_value !== undefined && cols.se_value !== null) parts.push(chip(cellText(cols.se_value), 'c-val', 'value'));
  parts.push(gitlabIds(row));
  if (!row.valid && row.problems && row.problems.length) {
    parts.push(h('span', {class: 'ev-problem', title: row.problems.map((p) => p.message).join('\n')},
      row.problems[0].message));
  }
  return parts;
}

const BUILTIN = [
  {key: 'time', label: 'Time', kind: 'time', width: '108px',
    render: (r) => h('span', {title: stamp(r.collector_tstamp)}, clock(r.collector_tstamp))},
  {key: 'app', label: 'App', kind: 'app', width: 'minmax(100px, 1.2fr)', render: (r) => r.app_id || ''},
  {key: 'event', label: 'Event', kind: 'event', width: 'minmax(240px, 4fr)', render: eventCell},
  {key: 'schema', label: 'Schema', kind: 'schema', width: 'minmax(120px, 1.6fr)',
    render: (r) => h('span', {title: r.schema || ''}, shortSchema(r.schema))},
  {key: 'tracker', label: 'Tracker', kind: 'tracker', width: 'minmax(70px, .8fr)', render: (r) => r.name_tracker || ''},
];
const STATUS_COLUMN = {key: 'status', label: 'Status', kind: 'status', width: '92px',
  render: (r) => h('span', {class: `badge b-${status(r)}`}, status(r))};

function extraColumn(name) {
  return {key: name, label: name, kind: 'extra', width: 'minmax(120px, 1.5fr)', render: (r) => {
    const value = SUMMARY_FIELDS.has(name) ? r[name] : (r.columns || {})[name];
    const text = cellText(value);
    return h('span', {title: text}, text);
  }};
}

/** Lay out the header and the rows for the chosen columns. */
export function applyColumns() {
  const columns = [...BUILTIN, ...state.columns.map(extraColumn), STATUS_COLUMN];
  const template = columns.map((c) => c.width).join(' ');
  const viewport = listView.viewport;
  viewport.style.setProperty('--columns', template);
  const minimum = columns.reduce((sum, c) => sum + parseInt(/\d+/.exec(c.width)[0], 10), 0);
  viewport.style.setProperty('--min-width', `${minimum + 24}px`);
  replace(header, columns.map((c) => h('div', {class: `cell c-${c.kind}`, role: 'columnheader', title: c.label},
    c.label, c.kind === 'extra' ? h('button', {class: 'remove-col', title: `Remove column ${c.label}`,
      'aria-label': `Remove column ${c.label}`, onclick: () => setColumns(state.columns.filter((x) => x !== c.key))},
    '×') : null)));
  listView.setColumns(columns);
}

export function setColumns(columns) {
  const before = wantedColumns().join(',');
  saveColumns(columns);
  applyColumns();
  // New API-side columns need the rows again; summary fields are already there.
  if (wantedColumns().join(',') !== before) onChange();
}

let allColumns = null;

export async function openColumnPicker() {
  const dialog = $('columns-dialog');
  const filter = $('columns-filter');
  filter.value = '';
  dialog.showModal();
  if (!allColumns) {
    replace($('columns-list'), h('p', {class: 'muted'}, 'Loading fields…'));
    try {
      allColumns = (await api('/api/columns')).columns;
    } catch {
      allColumns = [...SUMMARY_FIELDS];
    }
  }
  drawColumnList();
  filter.focus();
}

export function drawColumnList() {
  const needle = $('columns-filter').value.trim().toLowerCase();
  const chosen = new Set(state.columns);
  const names = [...state.columns, ...allColumns.filter((c) => !chosen.has(c))]
    .filter((c) => !needle || c.toLowerCase().includes(needle));
  replace($('columns-list'), names.slice(0, PICKER_LIMIT).map((name) => h('label', {class: 'col-option'},
    h('input', {type: 'checkbox', value: name, checked: chosen.has(name), onchange: (e) => {
      setColumns(e.target.checked ? [...state.columns, name] : state.columns.filter((c) => c !== name));
    }}),
    h('span', {}, name))),
  names.length > PICKER_LIMIT ? h('p', {class: 'muted'}, `${names.length - PICKER_LIMIT} more: type to narrow.`) : null);
}
