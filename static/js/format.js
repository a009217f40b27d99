// Turning summaries into the short texts the list and the panel show.

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** HH:MM:SS.mmm in local time (the list is read while events arrive, so the date is noise). */
export function clock(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A full local timestamp for tooltips and the detail panel. */
export function stamp(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms)}`;
}

/** HH:MM for timeline labels. */
export function hhmm(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Whether a summary is a structured event (GitLab's internal events are). */
export function isStruct(row) {
  return row.event === 'struct' || Boolean(row.se_action || row.se_category);
}

/** What happened: the self-describing event's name; `action · category` for structured events (the action is
 * what a developer looks for, the category is the long controller name). */
export function eventLabel(row) {
  if (isStruct(row)) return [row.se_action, row.se_category].filter(Boolean).join(' · ') || 'struct';
  if (row.event_name) return row.event_name;
  if (row.event) return row.event;
  return row.problems && row.problems.length ? 'unreadable request' : '(unknown)';
}

/** An iglu: URI's parts {vendor, name, version}, or null when it is not one. */
export function schemaParts(uri) {
  const m = /^iglu:([^/]+)\/([^/]+)\/[^/]+\/([^/]+)$/.exec(uri || '');
  return m ? {vendor: m[1], name: m[2], version: m[3]} : null;
}

/** `name 1-0-0` fits a narrow column; the vendor is in the tooltip (the full iglu: URI). */
export function shortSchema(uri) {
  if (!uri) return '';
  const parts = schemaParts(uri);
  return parts ? `${parts.name} ${parts.version}` : uri;
}

/** One of 'valid', 'invalid', 'unverified' for a summary. */
export function status(row) {
  if (!row.valid) return 'invalid';
  return row.unverified ? 'unverified' : 'valid';
}

/** Display any value from a column: objects as compact JSON, nothing for null. */
export function cellText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A search term for `key` equal to `value`: `key:value`, quoted when the value has spaces. */
export function searchTerm(key, value) {
  const text = cellText(value);
  return /[\s"]/.test(text) || text === '' ? `${key}:"${text.replaceAll('"', '')}"` : `${key}:${text}`;
}
