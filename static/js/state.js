// The Events view's state, and the page URL that holds the view (so a link reproduces what was seen).

export const RANGES = {'5m': 5 * 60e3, '1h': 3600e3, '24h': 86400e3, all: null};
// The timeline's bars for each range: how many, and how long each is (All shows the last half hour with events).
export const TIMELINE = {'5m': {bars: 5, ms: 60e3}, '1h': {bars: 60, ms: 60e3}, '24h': {bars: 48, ms: 30 * 60e3},
  all: {bars: 30, ms: 60e3}};

/** How long one timeline bar (and so a chosen `minute`) lasts in the current range. */
export function bucketMs() {
  return TIMELINE[state.range].ms;
}
const COLUMNS_KEY = 'micro-dashboard.columns';
// Page parameters of the view itself; any other parameter (?app_id=x) is an API filter, passed through.
const VIEW_KEYS = ['view', 'search', 'range', 'minute', 'cols', 'event'];

export const state = {
  search: '',
  range: 'all',
  minute: null, // start (ms) of the timeline minute filtered to, or null
  extraParams: new URLSearchParams(), // raw API filters given in the page URL (?app_id=x), passed through
  columns: [], // chosen extra columns, by API name
  rows: [], // ascending by id; shown newest first
  byId: new Map(),
  eventIds: new Set(), // event_ids of the rows held, to mark live rows that repeat one as duplicates
  unseen: 0, // rows that arrived while the reader was scrolled down
  pending: [], // rows that arrived while paused
  paused: false,
  nextBefore: null,
  loadingOlder: false,
  total: 0, // rows matching the current filter, by the API
  counts: {total: 0, good: 0, bad: 0},
  cursor: 0, // the newest row id the list is up to: the live feed goes on from it
  loadGeneration: 0, // which reload is the latest, so an older one's answer is dropped
  filterError: false, // the view's filter was refused: the list stays empty, the feed carries counts only
  apiMissing: false,
  openId: null,
  wantedId: null, // a shared link to one event: opened once loaded
  tab: null,
  detail: null,
};

export function readUrl() {
  const params = new URLSearchParams(location.search);
  state.search = params.get('search') || '';
  state.range = params.get('range') in RANGES ? params.get('range') : 'all';
  state.minute = params.get('minute') ? Number(params.get('minute')) : null;
  const cols = params.get('cols');
  state.columns = cols !== null ? cols.split(',').filter(Boolean) : savedColumns();
  state.wantedId = Number(params.get('event')) || null;
  for (const key of VIEW_KEYS) params.delete(key);
  state.extraParams = params;
}

/** The columns chosen last time; a value that does not parse (edited by hand, another version) is ignored. */
function savedColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY) || '[]');
    return Array.isArray(saved) ? saved.filter((c) => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

/** Choose the extra columns, remembered in the URL and for the next visit. */
export function saveColumns(columns) {
  state.columns = columns;
  localStorage.setItem(COLUMNS_KEY, JSON.stringify(columns));
  writeUrl();
}

export function writeUrl() {
  const params = new URLSearchParams();
  const view = new URLSearchParams(location.search).get('view'); // owned by the view switch: kept as it is
  if (view) params.set('view', view);
  for (const [key, value] of state.extraParams) params.append(key, value);
  if (state.search) params.set('search', state.search);
  if (state.range !== 'all') params.set('range', state.range);
  if (state.minute) params.set('minute', String(state.minute));
  if (state.columns.length) params.set('cols', state.columns.join(','));
  if (state.openId) params.set('event', String(state.openId));
  const query = params.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

/** The filter of the current view, as API query parameters. */
export function filterParams({withMinute = true} = {}) {
  const params = new URLSearchParams(state.extraParams);
  if (state.search.trim()) params.set('search', state.search.trim());
  if (withMinute && state.minute) {
    params.set('from', String(state.minute));
    params.set('to', String(state.minute + bucketMs() - 1));
  } else if (RANGES[state.range]) {
    params.set('from', String(Date.now() - RANGES[state.range]));
  }
  return params;
}

export function isFiltered() {
  return Boolean(filterParams().toString());
}
