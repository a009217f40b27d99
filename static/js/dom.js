// Safe DOM building. Event data is hostile: it only ever reaches the page as text nodes or
// attribute values set through the DOM API, never through an HTML parser.

/** Create an element: h('div', {class: 'x', title: 't', onclick: fn}, 'text', child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Append strings (as text) and nodes, flattening arrays and skipping null. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace every child of an element. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Render a JSON value as indented, coloured text built from spans (for the detail panel). */
export function jsonView(value) {
  const pre = h('pre', {class: 'json'});
  writeJson(pre, value, 0);
  return pre;
}

function writeJson(out, value, depth) {
  const pad = '  '.repeat(depth + 1);
  const close = '  '.repeat(depth);
  if (value === null) return out.append(h('span', {class: 'j-null'}, 'null'));
  if (Array.isArray(value)) {
    if (!value.length) return out.append('[]');
    out.append('[\n');
    value.forEach((item, i) => {
      out.append(pad);
      writeJson(out, item, depth + 1);
      out.append(i < value.length - 1 ? ',\n' : '\n');
    });
    return out.append(close + ']');
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length) return out.append('{}');
    out.append('{\n');
    entries.forEach(([key, item], i) => {
      out.append(pad, h('span', {class: 'j-key'}, JSON.stringify(key)), ': ');
      writeJson(out, item, depth + 1);
      out.append(i < entries.length - 1 ? ',\n' : '\n');
    });
    return out.append(close + '}');
  }
  const kind = typeof value === 'string' ? 'j-str' : typeof value === 'number' ? 'j-num' : 'j-bool';
  out.append(h('span', {class: kind}, JSON.stringify(value)));
}
