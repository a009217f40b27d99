// Everything GitLab-specific in the UI: the compact ids in a row's event cell and the GitLab tab of the
// detail panel (with the event's definition checks and the metric key paths it moved). GitLab's internal events
// are structured events carrying the gitlab_standard entity.

import {api} from './api.js';
import {h, jsonView, replace} from './dom.js';
import {badge, emptyNote, keyValues} from './detail.js';
import {cellText, searchTerm} from './format.js';

export const GITLAB_SCHEMA = /^iglu:com\.gitlab\/gitlab_standard\//;
// The standard-entity fields a GitLab developer looks for first, in reading order, with their short prefix.
const GITLAB_IDS = [['user_id', 'u'], ['project_id', 'p'], ['namespace_id', 'ns'], ['plan', '']];

/** The row's gitlab_standard ids and plan as one compact span (u:1 p:7 ns:42 ultimate), or null. */
export function gitlabIds(row) {
  const standard = row.gitlab || {}; // the summary carries the ids and plan gitlab_standard sets
  const found = GITLAB_IDS.map(([key, prefix]) => [key, prefix, standard[key]])
    .filter(([, , v]) => v !== undefined && v !== null && v !== '');
  if (!found.length) return null;
  return h('span', {class: 'gl', title: 'gitlab_standard'},
    found.map(([key, prefix, value]) => h('span', {title: key, dataset: {filter: searchTerm(key, value)}},
      prefix ? `${prefix}:${cellText(value)}` : cellText(value))));
}

/** One definition check of an event: its severity and sentence. */
function checkItem(check) {
  return h('li', {class: `gl-check c-${check.severity}`, dataset: {code: check.code}},
    h('span', {class: 'severity'}, check.severity), check.message);
}

/** The event's checks against the definitions and the key paths it moved (GET /api/events/<id>/gitlab),
 * filled in when they arrive. */
function metricsSection(detail) {
  const section = h('section', {class: 'gl-metrics'}, emptyNote('Checking against the definitions…'));
  Promise.all([api(`/api/events/${encodeURIComponent(detail.row.id)}/gitlab`), api('/api/definitions')])
    .then(([gitlab, definitions]) => {
      if (!definitions.configured) {
        replace(section, emptyNote('No GitLab definitions loaded: start the dashboard with --definitions DIR to ' +
          'check this event and see the metrics it moves.'));
        return;
      }
      replace(section,
        h('h4', {}, 'Metrics moved'),
        gitlab.moved.length
          ? h('ul', {class: 'gl-moved'}, gitlab.moved.map((key) => h('li', {}, h('code', {}, key))))
          : emptyNote('This event moved no metric key path.'),
        h('h4', {}, 'Definition checks'),
        gitlab.checks.length ? h('ul', {class: 'gl-checks'}, gitlab.checks.map(checkItem))
          : emptyNote(`${gitlab.action} matches its definition.`));
    }, (err) => replace(section, emptyNote(`Could not check this event: ${err.message}`)));
  return section;
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
  const ids = GITLAB_IDS.map(([key]) => [key, data[key]]);
  const known = new Set(['extra', ...ids.map(([k]) => k)]);
  const rest = Object.entries(data).filter(([k]) => !known.has(k));
  return [
    h('div', {class: 'gl-grid'},
      [...main, ...ids].map(([k, v]) => h('div', {class: 'gl-cell', ...(v === null || v === undefined ? {}
        : {dataset: {filter: searchTerm(k, v)}, tabindex: '0', role: 'button', title: `filter to or exclude ${k}`})},
        h('div', {class: 'gl-key'}, k),
        h('div', {class: v === null || v === undefined ? 'gl-val muted' : 'gl-val'},
          v === null || v === undefined ? '—' : String(v))))),
    metricsSection(detail),
    h('h4', {}, 'extra'),
    data.extra && Object.keys(data.extra).length ? jsonView(data.extra) : emptyNote('No extra properties.'),
    h('h4', {}, 'gitlab_standard ', standard ? badge(standard.status) : null,
      standard ? h('code', {class: 'schema'}, standard.schema) : null),
    rest.length ? keyValues(rest) : emptyNote('No other standard fields.'),
  ];
}

/** The detail panel's GitLab tab: shown first, for a structured event carrying gitlab_standard. */
export const GITLAB_TAB = {
  key: 'gitlab',
  label: 'GitLab',
  // The summary's `gitlab` says so too, so the panel shown while the whole event loads has the same tabs (a digit
  // pressed meanwhile picks the same tab in both).
  applies: (detail) => ((detail.event || {}).event === 'struct' || detail.row.event === 'struct') &&
    (Boolean(detail.row.gitlab) || detail.entities.some((e) => GITLAB_SCHEMA.test(e.schema || ''))),
  render: gitlabView,
};
