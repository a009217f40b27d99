// The detail panel: one event seen from every side, in tabs. Everything shown is event data, so it is
// built from text nodes only (see dom.js).

import {h, jsonView, replace} from './dom.js';
import {filterable} from './filtermenu.js';
import {cellText, eventLabel, isStruct, schemaParts, searchTerm, stamp, status} from './format.js';

const PINNED_KEY = 'micro-dashboard.pinned';
let searchKeys = new Set(['app_id', 'event', 'event_name', 'schema', 'user_id', 'se_action', 'se_category',
  'se_label', 'se_property', 'se_value', 'platform', 'name_tracker', 'event_id', 'domain_userid', 'network_userid']);

/** The fields the search reads by name (from /api/search-help): other fields are offered as free text. */
export function setSearchKeys(keys) {
  searchKeys = new Set(keys);
}

/** The search term that finds events with this field's value. */
function fieldTerm(key, value) {
  if (searchKeys.has(key)) return searchTerm(key, value);
  const text = cellText(value).replaceAll('"', '');
  return `"${text}"`;
}

/** `link_click 1-0-1` with the vendor muted before it; the whole URI in the tooltip. */
export function schemaLabel(uri) {
  const parts = schemaParts(uri);
  if (!parts) return h('code', {class: 'schema', title: uri || ''}, uri || '');
  return h('code', {class: 'schema', title: uri}, h('span', {class: 'vendor'}, `${parts.vendor}/`),
    h('span', {class: 'schema-name'}, parts.name), ` ${parts.version}`);
}

/** A string holding JSON (se_pr, contexts, ...) as a tree; anything else as it is. */
function valueView(value) {
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      const parsed = JSON.parse(value);
      return h('details', {class: 'json-string', open: true}, h('summary', {}, 'JSON in a string'),
        jsonView(parsed));
    } catch {
      // not JSON after all: shown as text
    }
  }
  if (value !== null && typeof value === 'object') return jsonView(value);
  return value;
}

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

// The Fields tab's groups, in reading order: a field joins the first group whose pattern matches its name.
const FIELD_GROUPS = [
  ['Event', /^(event|event_id|event_name|event_vendor|event_format|event_version|event_fingerprint|txn_id|se_|tr_|ti_|ue_|unstruct_|contexts_|derived_contexts|.*_tstamp$)/],
  ['App and tracker', /^(app_id|platform|name_tracker|v_tracker|v_collector|v_etl|etl_tags)$/],
  ['Page', /^(page_|refr_|mkt_|doc_charset)/],
  ['User and session', /^(user_|domain_user|domain_session|network_userid|geo_|ip_)/],
  ['Browser and device', /^(br_|os_|dvce_|doc_|useragent|os$)/],
  ['Page pings', /^pp_/],
  ['Other', /./],
];

function pinnedFields() {
  try {
    const saved = JSON.parse(localStorage.getItem(PINNED_KEY) || '[]');
    return new Set(Array.isArray(saved) ? saved : []);
  } catch {
    return new Set();
  }
}

/** One field's row: its name, a pin, and its value (a tree for JSON), offering to filter to it. */
function fieldRow(key, value, pinned, redraw) {
  const on = pinned.has(key);
  return h('tr', {dataset: {field: key}},
    h('th', {scope: 'row'}, h('button', {type: 'button', class: `pin${on ? ' on' : ''}`, 'aria-pressed': String(on),
      'aria-label': `${on ? 'Unpin' : 'Pin'} ${key}`, title: on ? 'Unpin' : 'Pin to the top', onclick: () => {
        if (on) pinned.delete(key);
        else pinned.add(key);
        localStorage.setItem(PINNED_KEY, JSON.stringify([...pinned]));
        redraw();
      }}, on ? '★' : '☆'), ' ', key),
    h('td', {}, typeof value === 'object' || /^\s*[[{]/.test(String(value)) ? valueView(value)
      : filterable(h('span', {class: 'value'}, String(value)), fieldTerm(key, value))));
}

function fieldsView(detail) {
  const flat = detail.flat || detail.event;
  if (!flat) return emptyNote('No canonical event: nothing could be read from this request. See Failures and Raw request.');
  const pairs = Object.entries(flat).filter(([, v]) => v !== null && v !== '' && v !== undefined);
  const filter = h('input', {type: 'text', class: 'fields-filter', placeholder: 'Filter fields…',
    'aria-label': 'Filter fields', autocomplete: 'off'});
  const out = h('div', {class: 'field-groups'});
  const draw = () => {
    const needle = filter.value.trim().toLowerCase();
    const pinned = pinnedFields();
    const shown = pairs.filter(([k, v]) => !needle || k.toLowerCase().includes(needle) ||
      cellText(v).toLowerCase().includes(needle));
    const groups = [['Pinned', shown.filter(([k]) => pinned.has(k))]];
    const rest = shown.filter(([k]) => !pinned.has(k));
    for (const [name, pattern] of FIELD_GROUPS) {
      groups.push([name, rest.filter(([k]) => pattern.test(k) && FIELD_GROUPS.find(([, p]) => p.test(k))[0] === name)]);
    }
    replace(out, groups.filter(([, list]) => list.length).map(([name, list]) => h('section', {class: 'field-group'},
      h('h4', {}, name), h('table', {class: 'kv'}, h('tbody', {}, list.map(([k, v]) => fieldRow(k, v, pinned, draw)))))),
    shown.length ? null : emptyNote('No field matches.'));
  };
  filter.addEventListener('input', draw);
  draw();
  return h('div', {class: 'fields'}, filter, out);
}

function entityBlock(entity) {
  const name = (schemaParts(entity.schema) || {}).name;
  const header = h('header', {},
    badge(entity.status),
    h('span', {class: 'kind'}, entity.kind),
    schemaLabel(entity.schema));
  if (name) filterable(header, `has:${name}`, {entity: name});
  return h('section', {class: `entity e-${entity.status}`},
    header,
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
      offendingValue(detail, failure, p),
      p.path ? h('code', {class: 'path', title: 'JSON path / parameter'}, p.path) : null,
      p.schema && p.schema !== failure.schema ? h('code', {class: 'schema'}, p.schema) : null))),
    failure.bad_row ? h('details', {}, h('summary', {}, 'Bad row JSON'), jsonView(failure.bad_row)) : null)),
  unverified ? notCheckedView(detail) : null];
}

/** Follow `$.a.b[0]` into a JSON value; undefined where it leads nowhere. */
function atPath(data, path) {
  const steps = path.replace(/^\$\.?/, '').match(/[^.[\]]+/g) || [];
  let value = data;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = value[step];
  }
  return value;
}

/** The value a problem is about: in the entity of its schema (a `$.` path) or the tracker parameter it names. */
function offendingValue(detail, failure, problem) {
  if (!problem.path) return null;
  let value;
  if (problem.path.startsWith('$')) {
    const schema = problem.schema || failure.schema;
    const entity = detail.entities.find((e) => e.schema === schema);
    if (entity) value = atPath(entity.data, problem.path);
  } else if (detail.parameters && problem.path in detail.parameters) {
    value = detail.parameters[problem.path];
  }
  if (value === undefined) return null;
  return h('span', {class: 'offending'}, h('span', {class: 'muted'}, 'value: '),
    h('code', {}, JSON.stringify(value)));
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
  const tab = tabs.some((t) => t.key === wantedTab) ? wantedTab : bestTab(detail, tabs);
  replace(panel.title, eventLabel(row));
  replace(panel.meta,
    badge(status(row)),
    h('span', {title: 'app_id'}, row.app_id || '—'),
    h('span', {class: 'muted', title: stamp(row.collector_tstamp)}, stamp(row.collector_tstamp)),
    row.schema && !isStruct(row) ? schemaLabel(row.schema) : null,
    h('code', {class: 'muted', title: 'event_id'}, row.event_id || `row ${row.id}`));
  replace(panel.tabs, tabs.map(({key, label}) => {
    const counter = key === 'entities' ? detail.entities.filter((e) => e.kind !== 'unstruct').length
      : key === 'failures' ? failuresCount : null;
    return h('button', {
      class: `tab${key === tab ? ' active' : ''}${key === 'failures' && failuresCount ? ' has-failures' : ''}`,
      role: 'tab', 'aria-selected': key === tab ? 'true' : 'false', dataset: {tab: key}, id: `tab-${key}`,
      'aria-controls': 'detail-body', tabindex: key === tab ? '0' : '-1', type: 'button',
      onclick: () => onTab(key),
    }, label, counter ? h('span', {class: 'count'}, String(counter)) : null);
  }));
  replace(panel.body, tabs.find((t) => t.key === tab).render(detail));
  panel.body.dataset.tab = tab;
  return tab;
}

/** The tab an event opens on: why it failed, GitLab's view of an internal event, why it was not checked, its
 * self-describing event, else its fields. */
function bestTab(detail, tabs) {
  const has = (key) => tabs.some((t) => t.key === key);
  const row = detail.row;
  if (!row.valid && has('failures')) return 'failures';
  if (has('gitlab')) return 'gitlab'; // an internal event's status shows in its badge; its tab says the rest
  if (row.unverified && has('failures')) return 'failures';
  if (detail.entities.some((e) => e.kind === 'unstruct') && has('sde')) return 'sde';
  return has('fields') ? 'fields' : tabs[0].key;
}

/** Make a detail-shaped object from a summary alone (when the API cannot be reached). */
export function detailFromSummary(row) {
  return {row, event: null, flat: row, entities: [], failures: [], request: null, curl: null};
}
