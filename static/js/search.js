// The search box's helpers: autocomplete for keys (those the search language reads, from /api/search-help, and
// the fields the dashboard has seen, from /api/columns) and for the most frequent values of the chosen key
// (/api/values); and the `?` help, drawn from what the server says the language is.

import {api} from './api.js';
import {setSearchKeys} from './detail.js';
import {h, replace} from './dom.js';
import {searchTerm} from './format.js';

const $ = (id) => document.getElementById(id);
const VALUES_PAUSE_MS = 120; // typing pauses this long before the top values are asked for
const SHOWN = 12;
let help = null; // what /api/search-help said
let fieldKeys = []; // entity paths and parameters the dashboard has seen
let suggestions = []; // [{text, replace: the token's new text, note}]
let active = -1;
let valuesTimer = null;
let asked = 0; // which /api/values answer is the latest

/** Ask the server for the language (and the fields seen, for keys); fill the help dialog. */
export async function loadSearchHelp(columnsPromise) {
  try {
    help = await api('/api/search-help');
  } catch {
    return; // an older server: no autocomplete, the placeholder still shows the syntax
  }
  setSearchKeys(help.keys);
  replace($('help-syntax'), help.syntax.map(({example, means}) => [h('dt', {}, h('code', {}, example)),
    h('dd', {}, means)]));
  replace($('help-aliases'), Object.entries(help.aliases).map(([alias, fields], i) => [i ? ', ' : '',
    h('code', {}, `${alias}:`), ` ${fields.join(' or ')}`]));
  const columns = (await columnsPromise) || [];
  fieldKeys = columns.filter((c) => c.includes('.'));
}

/** The token the caret is in: its start, its text, and its key and value when it has a colon. */
function tokenAtCaret(input) {
  const upTo = input.value.slice(0, input.selectionStart);
  const start = upTo.search(/\S*$/);
  const text = upTo.slice(start);
  const sign = text.startsWith('-') ? '-' : '';
  const body = text.slice(sign.length);
  const colon = body.indexOf(':');
  return colon < 0 ? {start, text, sign, key: null, value: body}
    : {start, text, sign, key: body.slice(0, colon), value: body.slice(colon + 1).replace(/^"/, '')};
}

function knownKey(key) {
  return help && (help.keys.includes(key) || /^[\w-]+\.[\w.-]+$/.test(key));
}

async function suggest(input) {
  const token = tokenAtCaret(input);
  if (!help || !token.text.replace('-', '')) return show(input, []);
  if (token.key === null) {
    const needle = token.value.toLowerCase();
    const keys = [...help.keys.filter((k) => k !== 'q'), ...fieldKeys, 'param.']
      .filter((k, i, all) => all.indexOf(k) === i && k.toLowerCase().startsWith(needle) && k !== needle);
    return show(input, keys.slice(0, SHOWN).map((k) => ({text: `${k}${k.endsWith('.') ? '' : ':'}`,
      note: help.aliases[k] ? help.aliases[k].join(' or ') : '', token})));
  }
  if (token.key === 'is') {
    return show(input, help.is.filter((v) => v.startsWith(token.value)).map((v) => ({text: `is:${v}`, token})));
  }
  if (token.key === 'has') {
    const names = [...new Set(fieldKeys.map((k) => k.split('.')[0]).filter((n) => n !== 'param'))];
    return show(input, names.filter((n) => n.startsWith(token.value)).slice(0, SHOWN)
      .map((n) => ({text: `has:${n}`, token})));
  }
  if (!knownKey(token.key)) return show(input, []);
  clearTimeout(valuesTimer);
  const call = ++asked;
  valuesTimer = setTimeout(async () => {
    let answer;
    try {
      answer = await api(`/api/values?${new URLSearchParams({key: token.key, prefix: token.value, limit: SHOWN})}`);
    } catch {
      return;
    }
    if (call !== asked || document.activeElement !== input) return;
    show(input, answer.values.map(({value, count}) => ({text: searchTerm(token.key, value), note: `${count}×`,
      token})));
  }, VALUES_PAUSE_MS);
  return null;
}

function show(input, list) {
  suggestions = list;
  active = -1;
  const box = $('suggestions');
  box.hidden = !list.length;
  input.setAttribute('aria-expanded', list.length ? 'true' : 'false');
  input.removeAttribute('aria-activedescendant');
  replace(box, list.map((s, i) => h('li', {role: 'option', id: `suggestion-${i}`, class: 'suggestion',
    'aria-selected': 'false', onmousedown: (e) => {
      e.preventDefault(); // keep the focus in the search box
      accept(input, i);
    }}, h('code', {}, s.text), s.note ? h('span', {class: 'muted'}, s.note) : null)));
  return null;
}

function highlight(input, index) {
  active = index;
  [...$('suggestions').children].forEach((li, i) => li.setAttribute('aria-selected', String(i === index)));
  input.setAttribute('aria-activedescendant', `suggestion-${index}`);
}

function accept(input, index) {
  const choice = suggestions[index];
  const {start, text, sign} = choice.token;
  const before = input.value.slice(0, start);
  const after = input.value.slice(start + text.length).replace(/^\S*/, '');
  const done = !choice.text.endsWith(':') && !choice.text.endsWith('.'); // a value completes the term
  const inserted = `${sign}${choice.text}${done ? ' ' : ''}`;
  input.value = `${before}${inserted}${after.replace(/^ /, '')}`;
  const caret = before.length + inserted.length;
  input.setSelectionRange(caret, caret);
  show(input, []);
  input.dispatchEvent(new Event('input')); // the list follows after the usual pause
  if (!done) suggest(input);
}

/** Wire the box: suggestions as one types; arrows choose, Enter or Tab takes one, Escape closes them. */
export function wireAutocomplete(input) {
  input.addEventListener('input', (e) => {
    if (e.isTrusted) suggest(input);
  });
  input.addEventListener('focus', () => suggest(input));
  input.addEventListener('blur', () => show(input, []));
  input.addEventListener('keydown', (e) => {
    if (!suggestions.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      highlight(input, (active + step + suggestions.length) % suggestions.length);
    } else if ((e.key === 'Enter' || e.key === 'Tab') && active >= 0) accept(input, active);
    else if (e.key === 'Escape') show(input, []);
    else return;
    e.preventDefault();
    e.stopPropagation();
  });
}
