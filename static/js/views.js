// The page's top-level views, chosen by `?view=` in the URL (the first registered one by default). A view
// owns the page elements marked data-view="<its name>"; those of the other views are hidden.

import {h, replace} from './dom.js';

const registry = new Map(); // name -> {label, mount()}

/** Make a view choosable: `mount()` wires and starts it when the page opens on it. */
export function registerView(name, {label, mount}) {
  registry.set(name, {label, mount});
}

/** Mount the view the URL names (an unknown name gets the default); returns its name. */
export function mountView() {
  const wanted = new URLSearchParams(location.search).get('view');
  const name = registry.has(wanted) ? wanted : registry.keys().next().value;
  for (const el of document.querySelectorAll('[data-view]')) if (el.dataset.view !== name) el.hidden = true;
  drawSwitch(name);
  registry.get(name).mount();
  return name;
}

/** Links to the other views; with one view there is nothing to switch to, so nothing is shown. */
function drawSwitch(current) {
  const nav = document.getElementById('views');
  nav.hidden = registry.size < 2;
  replace(nav, [...registry].map(([name, {label}]) => h('a', {
    href: `?view=${encodeURIComponent(name)}`, class: name === current ? 'active' : null,
    'aria-current': name === current ? 'page' : null, tabindex: name === current ? '-1' : null, // already here
  }, label)));
}
