// "Filter to this" and "exclude this" for any value shown: an element with data-filter="key:value" (a chip, a
// field, a GitLab cell, an entity header) opens a small menu on click or Enter; data-entity="name" adds "events
// with this entity". The chosen term is added to the search.

import {h, replace} from './dom.js';

const $ = (id) => document.getElementById(id);
let onTerm = () => {};
let returnFocus = null;

/** Make an element offer the menu: a tab stop, announced as a button. */
export function filterable(el, term, {entity = null} = {}) {
  el.dataset.filter = term;
  if (entity) el.dataset.entity = entity;
  el.tabIndex = 0;
  el.setAttribute('role', 'button');
  el.setAttribute('aria-haspopup', 'menu');
  el.title = `${el.title ? `${el.title}: ` : ''}filter to or exclude ${term}`;
  return el;
}

function close(refocus = true) {
  const menu = $('filter-menu');
  if (menu.hidden) return;
  menu.hidden = true;
  if (refocus && returnFocus && returnFocus.isConnected) returnFocus.focus();
  returnFocus = null;
}

function open(target) {
  const menu = $('filter-menu');
  const term = target.dataset.filter;
  const choose = (text) => () => {
    close(false);
    onTerm(text);
  };
  const items = [
    h('button', {type: 'button', role: 'menuitem', onclick: choose(term)}, 'Filter to ', h('code', {}, term)),
    h('button', {type: 'button', role: 'menuitem', onclick: choose(`-${term}`)}, 'Exclude ', h('code', {}, `-${term}`)),
  ];
  if (target.dataset.entity) {
    items.push(h('button', {type: 'button', role: 'menuitem', onclick: choose(`has:${target.dataset.entity}`)},
      'Events with this entity'));
  }
  replace(menu, items);
  menu.hidden = false;
  const box = target.getBoundingClientRect();
  menu.style.left = `${Math.max(4, Math.min(box.left, innerWidth - menu.offsetWidth - 8))}px`;
  menu.style.top = `${box.bottom + menu.offsetHeight + 8 > innerHeight ? box.top - menu.offsetHeight - 4
    : box.bottom + 4}px`;
  returnFocus = target;
  items[0].focus();
}

/** Wire the menu: `fn(term)` adds a term to the search. */
export function wireFilterMenu(fn) {
  onTerm = fn;
  const menu = $('filter-menu');
  document.addEventListener('click', (e) => {
    const target = e.target.closest('[data-filter]');
    if (target) {
      e.preventDefault();
      e.stopPropagation();
      open(target);
    } else if (!e.target.closest('#filter-menu')) close(false);
  }, true);
  document.addEventListener('keydown', (e) => {
    if (!menu.hidden) {
      const items = [...menu.querySelectorAll('button')];
      const index = items.indexOf(document.activeElement);
      if (e.key === 'Escape' || e.key === 'Tab') close();
      else if (e.key === 'ArrowDown') items[(index + 1) % items.length].focus();
      else if (e.key === 'ArrowUp') items[(index - 1 + items.length) % items.length].focus();
      else return;
      e.preventDefault();
      e.stopImmediatePropagation();
      return;
    }
    const target = e.target.closest && e.target.closest('[data-filter]');
    if (target && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      e.stopImmediatePropagation();
      open(target);
    }
  }, true);
}
