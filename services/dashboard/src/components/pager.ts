import { h } from '../dom.js';

/** "Showing 51–100 of 9,812" with previous / next links (keyboard reachable). */
export function pager(total: number, offset: number, limit: number, hrefFor: (offset: number) => string): HTMLElement {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(total, offset + limit);
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('span', {}, `Showing ${from.toLocaleString('en')}–${to.toLocaleString('en')} of ${total.toLocaleString('en')}`),
    offset > 0 ? h('a', { href: hrefFor(Math.max(0, offset - limit)), rel: 'prev' }, '← Newer') : null,
    to < total ? h('a', { href: hrefFor(offset + limit), rel: 'next' }, 'Older →') : null);
}
