import { sessionPanel } from '../components/session-panel.js';
import { h, render } from '../dom.js';
import type { PageContext } from '../page.js';

/** A session on its own (e.g. one without a series). */
export async function sessionPage(ctx: PageContext, id: string): Promise<void> {
  const panel = await sessionPanel(Number(id), ctx.onLeave);
  render(ctx.main, h('p', { class: 'crumbs' }, h('a', { href: '#/series' }, '← Series')), h('h1', {}, `Session ${id}`), panel);
}
