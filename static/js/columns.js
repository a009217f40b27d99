// The list's columns: the built-in ones, the extra ones the reader picks (any field the API knows), and
// the picker dialog. Extra columns are asked of the API by name; the summary's fields (the server names
// them in /api/columns) come with every row.

import {api} from './api.js';
import {h, replace} from './dom.js';
import {filterable} from './filtermenu.js';
import {cellText, clock, eventLabel, isStruct, searchTerm, shortSchema, stamp, status} from './format.js';
import {gitlabIds} from './gitlab.js';
import {header, listView} from './rows.js';
import {saveColumns, state} from './state.js';

const $ = (id) => document.getElementById(id);
const PICKER_LIMIT = 400; // names listed at once; typing narrows the rest
let summaryFields = new Set(); // what every row carries; until the server says, every chosen column is asked for
let allColumns = null; // every field the dashboard had seen when the picker first opened

let onChange = () => {}; // told when the columns asked of the API change (the rows must be read again)

/** Call `fn()` when a column choice needs the rows read again. */
export function whenColumnsChange(fn) {
  onChange = fn;
}

/** Ask the server which fields exist and which of them a summary carries; returns every field's name. */
export async function loadColumnNames() {
  try {
    const answer = await api('/api/columns');
    summaryFields = new Set(answer.summary || []);
    return answer.columns;
  } catch {
    return null; // an older server, or none: the chosen columns are all asked for by name
  }
}

/** Columns to ask the API (and the live feed) for: the chosen ones a summary does not carry. */
export function wantedColumns() {
  return state.columns.filter((c) => !summaryFields.has(c));
}

/** A labelled chip (`label save`) that offers to filter to or exclude its value (`key` is the search key). */
function chip(name, value, cls, key) {
  const el = filterable(h('span', {class: `chip ${cls}`, title: name}, h('span', {class: 'chip-key'}, name), ' ',
    cellText(value)), searchTerm(key, value));
  el.tabIndex = -1; // the list is one tab stop; the panel offers the same values to the keyboard
  return el;
}

/** The event cell: what happened (the action in bold, then the category, muted, cut first), then for structured
 * events the labelled label/property/value chips and the GitLab ids. */
function eventCell(row) {
  const parts = isStruct(row) && row.se_action
    ? [h('span', {class: 'ev-name'}, row.se_action),
      row.se_category ? h('span', {class: 'ev-cat', title: row.se_category}, row.se_category) : null]
    : [h('span', {class: 'ev-name'}, eventLabel(row))];
  if (row.duplicate) {
    parts.push(h('span', {class: 'chip c-dup', title: 'An earlier event had the same event_id (a replay or a ' +
      'tracker\'s retry)'}, 'duplicate'));
  }
  if (row.se_label) parts.push(chip('label', row.se_label, 'c-label', 'label'));
  if (row.se_property) parts.push(chip('property', row.se_property, 'c-prop', 'property'));
  if (row.se_value !== undefined && row.se_value !== null) parts.push(chip('value', row.se_value, 'c-val', 'value'));
  parts.push(gitlabIds(row));
  if (!row.valid && row.problems && row.problems.length) {
    parts.push(h('span', {class: 'ev-problem', title: row.problems.map((p) => p.message).join('\n')},
      row.problems[0].message));
  }
  return parts;
}

const MARKS = {valid: '✓', invalid: '✗', unverified: '?'};
// First, so that the status survives any width and an open panel.
const MARK_COLUMN = {key: 'mark', label: '', kind: 'mark', width: '26px',
  render: (r) => h('span', {class: `mark m-${status(r)}`, title: status(r), 'aria-label': status(r)}, MARKS[status(r)])};

const BUILTIN = [
  {key: 'time', label: 'Time', kind: 'time', width: '108px',
    render: (r) => h('span', {title: stamp(r.collector_tstamp)}, clock(r.collector_tstamp))},
  {key: 'app', label: 'App', kind: 'app', width: 'minmax(100px, 1.2fr)', render: (r) => r.app_id || ''},
  {key: 'event', label: 'Event', kind: 'event', width: 'minmax(240px, 4fr)', render: eventCell},
  {key: 'schema', label: 'Schema', kind: 'schema', width: 'minmax(120px, 1.6fr)',
    render: (r) => (isStruct(r) ? h('span', {title: 'a structured event (se_* fields)'}, 'struct')
      : h('span', {title: r.schema || ''}, shortSchema(r.schema)))},
  {key: 'tracker', label: 'Tracker', kind: 'tracker', width: 'minmax(70px, .8fr)', render: (r) => r.name_tracker || ''},
];
const STATUS_COLUMN = {key: 'status', label: 'Status', kind: 'status', width: '92px',
  render: (r) => h('span', {class: `badge b-${status(r)}`}, status(r))};

function extraColumn(name) {
  return {key: name, label: name, kind: 'extra', width: 'minmax(120px, 1.5fr)', render: (r) => {
    const value = summaryFields.has(name) ? r[name] : (r.columns || {})[name];
    const text = cellText(value);
    return h('span', {title: text}, text);
  }};
}

/** Lay out the header and the rows for the chosen columns. */
export function applyColumns() {
  const columns = [MARK_COLUMN, ...BUILTIN, ...state.columns.map(extraColumn), STATUS_COLUMN];
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

export async function openColumnPicker() {
  const dialog = $('columns-dialog');
  const filter = $('columns-filter');
  filter.value = '';
  dialog.showModal();
  if (!allColumns) {
    replace($('columns-list'), h('p', {class: 'muted'}, 'Loading fields…'));
    allColumns = (await loadColumnNames()) || [...summaryFields];
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
  names.length > PICKER_LIMIT
    ? h('p', {class: 'muted'}, `${names.length - PICKER_LIMIT} more: type to narrow.`) : null);
}
