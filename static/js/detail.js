// The detail panel: one event seen from every side, in tabs. Everything shown is event data, so it is
// built from text nodes only (see dom.js).

import {h, jsonView, replace} from './dom.js';
import {eventLabel, stamp, status} from './format.js';

/** A validity badge: valid, invalid or unverified. */
export function badge(state, text = state) {
  return h('span', {class: `badge b-${state}`}, text);
}

/** A two-column table of names and values; nodes are shown as they are, objects as JSON. */
export function keyValues(pairs) {
  return h('table', {class: 'kv'}, h('tbody', {}, pairs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => h('tr', {}, h('th', {scope: 'row'}, k),
      h('td', {}, v instanceof Node ? v : v === null ? h('span', {class: 'muted'}, 'null')
        : typeof v === 'object' ? JSON.stringify(v) : String(v))))));
}

/** A muted sentence saying why a tab has nothing to show. */
export function emptyNote(text) {
  return h('p', {class: 'empty-note'}, text);
}

function fieldsView(detail) {
  const flat = detail.flat || detail.event;
  if (!flat) return emptyNote('No canonical event: nothing could be read from this request. See Failures and Raw request.');
  const pairs = Object.entries(flat).filter(([, v]) => v !== null && v !== '' && v !== undefined);
  return h('div', {class: 'fields'}, keyValues(pairs.map(([k, v]) => [k, v])));
}

function entityBlock(entity) {
  return h('section', {class: `entity e-${entity.status}`},
    h('header', {},
      badge(entity.status),
      h('span', {class: 'kind'}, entity.kind),
      h('code', {class: 'schema', title: entity.schema}, entity.schema)),
    entity.note ? h('p', {class: 'note'}, entity.note) : null,
    jsonView(entity.data));
}

function sdeView(detail) {
  const sde = detail.entities.filter((e) => e.kind === 'unstruct');
  if (!sde.length) return emptyNote('This event has no self-describing event (it is not an unstruct event).');
  return sde.map(entityBlock);
}

function entitiesView(detail) {
  const list = detail.entities.filter((e) => e.kind !== 'unstruct');
  if (!list.length) return emptyNote('No entities (contexts) were attached to this event.');
  return list.map(entityBlock);
}

/** What could not be checked and why: the notes of the unverified entities (an unreachable registry, ...). */
function notCheckedView(detail) {
  const unchecked = detail.entities.filter((e) => e.status === 'unverified');
  return h('section', {class: 'failure not-checked'},
    h('header', {}, badge('unverified', 'not checked'),
      h('span', {}, unchecked.length === 1 ? '1 schema could not be checked'
        : unchecked.length ? `${unchecked.length} schemas could not be checked` : 'its schemas could not be checked')),
    h('p', {class: 'why'}, 'Not checked: no registry could be asked for these schemas, so it is not known if ' +
      'the event passes them. It is counted apart from valid and invalid events until a registry answers.'),
    unchecked.length ? h('ul', {class: 'problems'}, unchecked.map((e) => h('li', {class: 'problem'},
      h('span', {class: 'sentence'}, e.note || 'The schema could not be checked.'),
      h('code', {class: 'schema'}, e.schema)))) : null,
    h('p', {class: 'why fix'}, 'Fix: run micro-dashboard schemas pull while online, serve a local copy with ' +
      '--iglu-dir DIR, or use --strict to count such events as invalid.'));
}

/** One plain sentence per problem, with the JSON path it is about; and what could not be checked. */
function failuresView(detail) {
  const failures = detail.failures.length ? detail.failures
    : detail.row.problems.length ? [{type: detail.row.problems[0].type, problems: detail.row.problems}] : [];
  const unverified = detail.row.unverified || detail.entities.some((e) => e.status === 'unverified');
  if (!failures.length) return unverified ? notCheckedView(detail) : emptyNote('No failures: this event is valid.');
  return [...failures.map((failure) => h('section', {class: 'failure'},
    h('header', {}, badge('invalid', failure.type || 'failure'),
      failure.schema ? h('code', {class: 'schema'}, failure.schema) : null),
    h('ul', {class: 'problems'}, (failure.problems || []).map((p) => h('li', {class: 'problem'},
      h('span', {class: 'sentence'}, p.message),
      p.path ? h('code', {class: 'path', title: 'JSON path / parameter'}, p.path) : null,
      p.schema && p.schema !== failure.schema ? h('code', {class: 'schema'}, p.schema) : null))),
    failure.bad_row ? h('details', {}, h('summary', {}, 'Bad row JSON'), jsonView(failure.bad_row)) : null)),
  unverified ? notCheckedView(detail) : null];
}

/** A body is shown as JSON when it parses, else as it was received. */
function bodyView(body) {
  if (body === null || body === undefined || body === '') return emptyNote('No body.');
  try {
    return jsonView(JSON.parse(body));
  } catch {
    return h('pre', {class: 'json'}, body);
  }
}

function queryPairs(querystring) {
  if (!querystring) return [];
  try {
    return [...new URLSearchParams(querystring)];
  } catch {
    return [['(raw)', querystring]];
  }
}

function requestView(detail) {
  const r = detail.request;
  if (!r) return emptyNote('The raw request is not available.');
  const query = queryPairs(r.querystring);
  return [
    h('p', {class: 'request-line'}, h('code', {}, `${r.method || ''} ${r.path || ''}${r.querystring ? '?' + r.querystring : ''}`)),
    keyValues([['received', stamp(r.received_at)], ['ip', r.ip], ['content type', r.content_type],
      ['user agent', r.useragent], ['referer', r.referer], ['network user id', r.network_userid]]),
    h('h4', {}, 'Query string'), query.length ? keyValues(query) : emptyNote('No query string.'),
    h('h4', {}, 'Body'), bodyView(r.body),
    h('h4', {}, 'Headers'), (r.headers || []).length ? keyValues(r.headers) : emptyNote('No headers.'),
  ];
}

// The tabs in order; a tab with `applies` shows only for the events it returns true for.
const TABS = [
  {key: 'fields', label: 'Fields', render: fieldsView},
  {key: 'sde', label: 'Self-describing event', render: sdeView},
  {key: 'entities', label: 'Entities', render: entitiesView},
  {key: 'failures', label: 'Failures', render: failuresView},
  {key: 'request', label: 'Raw request', render: requestView},
];

/** Add a tab for one kind of event (GitLab's), before the others when `first`. */
export function addTab(tab, {first = false} = {}) {
  if (first) TABS.unshift(tab);
  else TABS.push(tab);
}

/** Fill the panel's title, tab bar and body for one event; returns the tab shown. */
export function renderDetail(panel, detail, wantedTab, onTab) {
  const row = detail.row;
  const tabs = TABS.filter((t) => !t.applies || t.applies(detail));
  const failuresCount = detail.failures.reduce((n, f) => n + (f.problems || []).length, 0) || row.problems.length;
  let tab = tabs.some((t) => t.key === wantedTab) ? wantedTab : tabs[0].key;
  if (!wantedTab && !row.valid) tab = 'failures'; // an invalid event is opened for its reasons
  replace(panel.title, eventLabel(row));
  replace(panel.meta,
    badge(status(row)),
    h('span', {title: 'app_id'}, row.app_id || '—'),
    h('span', {class: 'muted', title: stamp(row.collector_tstamp)}, stamp(row.collector_tstamp)),
    row.schema ? h('code', {class: 'schema', title: row.schema}, row.schema) : null,
    h('code', {class: 'muted', title: 'event_id'}, row.event_id || `row ${row.id}`));
  replace(panel.tabs, tabs.map(({key, label}) => {
    const counter = key === 'entities' ? detail.entities.filter((e) => e.kind !== 'unstruct').length
      : key === 'failures' ? failuresCount : null;
    return h('button', {
      class: `tab${key === tab ? ' active' : ''}${key === 'failures' && failuresCount ? ' has-failures' : ''}`,
      role: 'tab', 'aria-selected': key === tab ? 'true' : 'false', dataset: {tab: key},
      onclick: () => onTab(key),
    }, label, counter ? h('span', {class: 'count'}, String(counter)) : null);
  }));
  replace(panel.body, tabs.find((t) => t.key === tab).render(detail));
  panel.body.dataset.tab = tab;
  return tab;
}

/** Make a detail-shaped object from a summary alone (when the API cannot be reached). */
export function detailFromSummary(row) {
  return {row, event: null, flat: row, entities: [], failures: [], request: null, curl: null};
}
