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

/** What happened: the self-describing event's name, `category / action` for structured events. */
export function eventLabel(row) {
  if (row.event === 'struct' || row.se_action || row.se_category) {
    return [row.se_category, row.se_action].filter(Boolean).join(' / ') || 'struct';
  }
  if (row.event_name) return row.event_name;
  if (row.event) return row.event;
  return row.problems && row.problems.length ? 'unreadable request' : '(unknown)';
}

/** `name 1-0-0` fits a narrow column; the vendor is in the tooltip (the full iglu: URI). */
export function shortSchema(uri) {
  if (!uri) return '';
  const m = /^iglu:[^/]+\/([^/]+)\/[^/]+\/([^/]+)$/.exec(uri);
  return m ? `${m[1]} ${m[2]}` : uri;
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
