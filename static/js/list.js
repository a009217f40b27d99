// A virtualised event list: rows live in an array, and only the ~50 rows in view exist in the DOM, so
// 10,000 events scroll as smoothly as ten.

import {h, replace} from './dom.js';

export const ROW_HEIGHT = 28; // keep in sync with --row-height in app.css
const OVERSCAN = 8;

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
    this.pool = []; // row elements, reused as the window moves
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

  /** Rows were added above the view: keep what the reader looks at still, unless they are at the top. */
  keepPosition(addedAbove) {
    if (this.viewport.scrollTop > 0 && addedAbove > 0) this.viewport.scrollTop += addedAbove * ROW_HEIGHT;
    this.invalidate();
  }

  render() {
    const count = this.model.count();
    this.spacer.style.height = `${count * ROW_HEIGHT}px`; // the sticky header above it is one more row
    const top = this.viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil(this.viewport.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(count, first + visible);
    while (this.pool.length < last - first) {
      const el = h('div', {class: 'row', role: 'row'});
      this.pool.push(el);
      this.viewport.append(el);
    }
    this.pool.forEach((el, slot) => {
      const index = first + slot;
      if (index >= last) {
        el.hidden = true;
        return;
      }
      this.drawRow(el, this.model.rowAt(index), index);
    });
    if (count && last >= count - OVERSCAN) this.events.nearEnd();
  }

  drawRow(el, row, index) {
    el.hidden = false;
    el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    const key = `${row.id}:${this.version}:${row.rev || 0}`;
    if (el.dataset.key !== key) {
      el.dataset.key = key;
      el.dataset.id = row.id;
      el.className = `row ${row.valid ? (row.unverified ? 'unverified' : 'valid') : 'invalid'}`;
      replace(el, this.columns.map((col) => h('div', {class: `cell c-${col.kind}`, role: 'cell'}, col.render(row))));
    }
    const selected = row.id === this.selectedId;
    el.classList.toggle('selected', selected);
    el.setAttribute('aria-selected', selected ? 'true' : 'false');
  }

  onClick(e) {
    const el = e.target.closest('.row');
    if (!el) return;
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
