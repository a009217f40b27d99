// Everything GitLab-specific in the UI: the compact ids in a row's event cell and the GitLab tab of the
// detail panel. GitLab's internal events are structured events carrying the gitlab_standard entity.

import {h, jsonView} from './dom.js';
import {badge, emptyNote, keyValues} from './detail.js';
import {cellText} from './format.js';

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
    found.map(([key, prefix, value]) => h('span', {title: key},
      prefix ? `${prefix}:${cellText(value)}` : cellText(value))));
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
      [...main, ...ids].map(([k, v]) => h('div', {class: 'gl-cell'},
        h('div', {class: 'gl-key'}, k),
        h('div', {class: v === null || v === undefined ? 'gl-val muted' : 'gl-val'},
          v === null || v === undefined ? '—' : String(v))))),
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
  applies: (detail) => ((detail.event || {}).event === 'struct' || detail.row.event === 'struct') &&
    detail.entities.some((e) => GITLAB_SCHEMA.test(e.schema || '')),
  render: gitlabView,
};
