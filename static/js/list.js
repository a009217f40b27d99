// A virtualised event list: rows live in an array, and only the ~50 rows in view exist in the DOM, so
// 10,000 events scroll as smoothly as ten.

import {h, replace} from './dom.js';

export const ROW_HEIGHT = 28; // keep in sync with --row-height in app.css
const OVERSCAN = 8;
const PREFETCH_ROWS = 300; // older rows are asked for this far before the end, so scrolling never reaches it
const FLASH_MS = 1500; // a new row is marked this long after it arrived

export class VirtualList {
  /** model: {count(), rowAt(i), indexOf(id)}; events: {select(id), open(id), nearEnd()} */
  constructor(viewport, header, model, events) {
    this.viewport = viewport;
    this.header = header;
    this.model = model;
    this.events = events;
    this.columns = [];
    this.selectedId = null;
    this.spacer = h('div', {class: 'spacer'});
    this.viewport.append(header, this.spacer);
    this.byRow = new Map(); // row id -> its element: a row already drawn keeps its element (and cells) as it moves
    this.spare = []; // elements of rows scrolled out of view, reused for the next rows to come in
    this.framePending = false;
    this.viewport.addEventListener('scroll', () => this.schedule(), {passive: true});
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
    this.viewport.addEventListener('click', (e) => this.onClick(e));
  }

  setColumns(columns) {
    this.columns = columns;
    this.version = (this.version || 0) + 1; // every row must be redrawn with the new cells
    this.schedule();
  }

  /** Redraw on the next frame; many updates in one frame cost one redraw. */
  schedule() {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      this.render();
    });
  }

  /** Forget cached cells (rows changed in place, e.g. columns arrived). */
  invalidate() {
    this.version = (this.version || 0) + 1;
    this.schedule();
  }

  /** Rows were added above the view: keep what the reader looks at still, unless they are at the top. Only the
   * new rows are drawn: the others keep their elements and move (arrival costs the same at any list length). */
  keepPosition(addedAbove) {
    if (this.viewport.scrollTop > 0 && addedAbove > 0) this.viewport.scrollTop += addedAbove * ROW_HEIGHT;
    this.schedule();
  }

  /** Whether the newest rows are in view (the reader has not scrolled down into older ones). */
  atTop() {
    return this.viewport.scrollTop < ROW_HEIGHT;
  }

  render() {
    const count = this.model.count();
    this.spacer.style.height = `${count * ROW_HEIGHT}px`; // the sticky header above it is one more row
    const top = this.viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil(this.viewport.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(count, first + visible);
    const wanted = [];
    for (let index = first; index < last; index += 1) wanted.push([this.model.rowAt(index), index]);
    const keep = new Set(wanted.map(([row]) => row.id));
    for (const [id, el] of this.byRow) {
      if (keep.has(id)) continue;
      this.byRow.delete(id);
      el.hidden = true;
      this.spare.push(el);
    }
    for (const [row, index] of wanted) {
      let el = this.byRow.get(row.id);
      if (!el) {
        el = this.spare.pop() || this.viewport.appendChild(h('div', {class: 'row', role: 'row'}));
        this.byRow.set(row.id, el);
      }
      this.drawRow(el, row, index);
    }
    this.events.rendered?.(count);
    if (count && last >= count - PREFETCH_ROWS) this.events.nearEnd();
  }

  drawRow(el, row, index) {
    el.hidden = false;
    el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    const key = `${row.id}:${this.version}:${row.rev || 0}`;
    if (el.dataset.key !== key) {
      el.dataset.key = key;
      el.dataset.id = row.id;
      const fresh = row.arrivedAt && performance.now() - row.arrivedAt < FLASH_MS;
      el.className = `row ${row.valid ? (row.unverified ? 'unverified' : 'valid') : 'invalid'}` +
        `${row.duplicate ? ' duplicate' : ''}${fresh ? ' fresh' : ''}`;
      replace(el, this.columns.map((col) => h('div', {class: `cell c-${col.kind}`, role: 'cell'}, col.render(row))));
    }
    const selected = row.id === this.selectedId;
    el.classList.toggle('selected', selected);
    el.setAttribute('aria-selected', selected ? 'true' : 'false');
  }

  onClick(e) {
    const el = e.target.closest('.row');
    if (!el || e.target.closest('[data-filter], button')) return; // a chip offers its own filter menu
    this.events.open(Number(el.dataset.id));
  }

  select(id) {
    this.selectedId = id;
    this.scrollIntoView(id);
    this.schedule();
  }

  scrollIntoView(id) {
    const index = this.model.indexOf(id);
    if (index < 0) return;
    const top = (index + 1) * ROW_HEIGHT; // below the sticky header
    const view = this.viewport;
    if (top < view.scrollTop + ROW_HEIGHT) view.scrollTop = index * ROW_HEIGHT;
    else if (top + ROW_HEIGHT > view.scrollTop + view.clientHeight) {
      view.scrollTop = top + ROW_HEIGHT - view.clientHeight;
    }
  }
}
