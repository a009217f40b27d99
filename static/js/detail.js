// The detail panel: one event seen from every side, in tabs. Everything shown is event data, so it is
// built from text nodes only (see dom.js).

import {h, jsonView, replace} from './dom.js';
import {eventLabel, GITLAB_SCHEMA, stamp, status} from './format.js';

const TABS = [
  ['gitlab', 'GitLab'],
  ['fields', 'Fields'],
  ['sde', 'Self-describing event'],
  ['entities', 'Entities'],
  ['failures', 'Failures'],
  ['request', 'Raw request'],
];

/** A validity badge: valid, invalid or unverified. */
export function badge(state, text = state) {
  return h('span', {class: `badge b-${state}`}, text);
}

function keyValues(pairs) {
  return h('table', {class: 'kv'}, h('tbody', {}, pairs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => h('tr', {}, h('th', {scope: 'row'}, k),
      h('td', {}, v instanceof Node ? v : v === null ? h('span', {class: 'muted'}, 'null')
        : typeof v === 'object' ? JSON.stringify(v) : String(v))))));
}

function empty(text) {
  return h('p', {class: 'empty-note'}, text);
}

/** The GitLab view: the structured event's fields and the ids and plan from gitlab_standard. */
function gitlabView(detail) {
  const f = detail.event || {};
  const standard = detail.entities.find((e) => GITLAB_SCHEMA.test(e.schema || ''));
  const data = (standard && standard.data) || {};
  const main = [
    ['action', f.se_action], ['category', f.se_category], ['label', f.se_label],
    ['property', f.se_property], ['value', f.se_value],
  ];
  const ids = [
    ['user_id', data.user_id], ['project_id', data.project_id], ['namespace_id', data.namespace_id],
    ['plan', data.plan],
  ];
  const known = new Set(['extra', ...ids.map(([k]) => k)]);
  const rest = Object.entries(data).filter(([k]) => !known.has(k));
  return [
    h('div', {class: 'gl-grid'},
      [...main, ...ids].map(([k, v]) => h('div', {class: 'gl-cell'},
        h('div', {class: 'gl-key'}, k),
        h('div', {class: v === null || v === undefined ? 'gl-val muted' : 'gl-val'},
          v === null || v === undefined ? '—' : String(v))))),
    h('h4', {}, 'extra'),
    data.extra && Object.keys(data.extra).length ? jsonView(data.extra) : empty('No extra properties.'),
    h('h4', {}, 'gitlab_standard ', standard ? badge(standard.status) : null,
      standard ? h('code', {class: 'schema'}, standard.schema) : null),
    rest.length ? keyValues(rest) : empty('No other standard fields.'),
  ];
}

function fieldsView(detail) {
  const flat = detail.flat || detail.event;
  if (!flat) return empty('No canonical event: nothing could be read from this request. See Failures and Raw request.');
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
  if (!sde.length) return empty('This event has no self-describing event (it is not an unstruct event).');
  return sde.map(entityBlock);
}

function entitiesView(detail) {
  const list = detail.entities.filter((e) => e.kind !== 'unstruct');
  if (!list.length) return empty('No entities (contexts) were attached to this event.');
  return list.map(entityBlock);
}

/** One plain sentence per problem, with the JSON path it is about. */
function failuresView(detail) {
  const failures = detail.failures.length ? detail.failures
    : detail.row.problems.length ? [{type: detail.row.problems[0].type, problems: detail.row.problems}] : [];
  if (!failures.length) return empty('No failures: this event is valid.');
  return failures.map((failure) => h('section', {class: 'failure'},
    h('header', {}, badge('invalid', failure.type || 'failure'),
      failure.schema ? h('code', {class: 'schema'}, failure.schema) : null),
    h('ul', {class: 'problems'}, (failure.problems || []).map((p) => h('li', {class: 'problem'},
      h('span', {class: 'sentence'}, p.message),
      p.path ? h('code', {class: 'path', title: 'JSON path / parameter'}, p.path) : null,
      p.schema && p.schema !== failure.schema ? h('code', {class: 'schema'}, p.schema) : null))),
    failure.bad_row ? h('details', {}, h('summary', {}, 'Bad row JSON'), jsonView(failure.bad_row)) : null));
}

/** A body is shown as JSON when it parses, else as it was received. */
function bodyView(body) {
  if (body === null || body === undefined || body === '') return empty('No body.');
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
  if (!r) return empty('The raw request is not available.');
  const query = queryPairs(r.querystring);
  return [
    h('p', {class: 'request-line'}, h('code', {}, `${r.method || ''} ${r.path || ''}${r.querystring ? '?' + r.querystring : ''}`)),
    keyValues([['received', stamp(r.received_at)], ['ip', r.ip], ['content type', r.content_type],
      ['user agent', r.useragent], ['referer', r.referer], ['network user id', r.network_userid]]),
    h('h4', {}, 'Query string'), query.length ? keyValues(query) : empty('No query string.'),
    h('h4', {}, 'Body'), bodyView(r.body),
    h('h4', {}, 'Headers'), (r.headers || []).length ? keyValues(r.headers) : empty('No headers.'),
  ];
}

const VIEWS = {gitlab: gitlabView, fields: fieldsView, sde: sdeView, entities: entitiesView,
  failures: failuresView, request: requestView};

/** Whether the GitLab tab applies: a structured event carrying gitlab_standard. */
export function isGitlab(detail) {
  const f = detail.event || {};
  return (f.event === 'struct' || detail.row.event === 'struct') &&
    detail.entities.some((e) => GITLAB_SCHEMA.test(e.schema || ''));
}

/** Fill the panel's title, tab bar and body for one event; returns the tab shown. */
export function renderDetail(panel, detail, wantedTab, onTab) {
  const row = detail.row;
  const tabs = TABS.filter(([key]) => key !== 'gitlab' || isGitlab(detail));
  const failuresCount = detail.failures.reduce((n, f) => n + (f.problems || []).length, 0) || row.problems.length;
  let tab = tabs.some(([key]) => key === wantedTab) ? wantedTab : tabs[0][0];
  if (!wantedTab && !row.valid) tab = 'failures'; // an invalid event is opened for its reasons
  replace(panel.title, eventLabel(row));
  replace(panel.meta,
    badge(status(row)),
    h('span', {title: 'app_id'}, row.app_id || '—'),
    h('span', {class: 'muted', title: stamp(row.collector_tstamp)}, stamp(row.collector_tstamp)),
    row.schema ? h('code', {class: 'schema', title: row.schema}, row.schema) : null,
    h('code', {class: 'muted', title: 'event_id'}, row.event_id || `row ${row.id}`));
  replace(panel.tabs, tabs.map(([key, label]) => {
    const counter = key === 'entities' ? detail.entities.filter((e) => e.kind !== 'unstruct').length
      : key === 'failures' ? failuresCount : null;
    return h('button', {
      class: `tab${key === tab ? ' active' : ''}${key === 'failures' && failuresCount ? ' has-failures' : ''}`,
      role: 'tab', 'aria-selected': key === tab ? 'true' : 'false', dataset: {tab: key},
      onclick: () => onTab(key),
    }, label, counter ? h('span', {class: 'count'}, String(counter)) : null);
  }));
  replace(panel.body, VIEWS[tab](detail));
  panel.body.dataset.tab = tab;
  return tab;
}

/** Make a detail-shaped object from a summary alone (when the API cannot be reached). */
export function detailFromSummary(row) {
  return {row, event: null, flat: row, entities: [], failures: [], request: null, curl: null};
}
