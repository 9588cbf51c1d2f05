import { api, qs } from '../api.js';
import { pager } from '../components/pager.js';
import { sparkline } from '../components/sparkline.js';
import { h, render } from '../dom.js';
import { ago, ms, pct, poolLabel } from '../format.js';
import { go, href, type PageContext } from '../page.js';
import type { RunFilterOptions, SeriesList } from '@pocketbench/contracts';

const LIMIT = 50;

/** Series: which of the things we measure over time are moving, and where are alerts? */
export async function seriesListPage({ main, params }: PageContext): Promise<void> {
  const filter = { project: params.get('project') ?? '', model: params.get('model') ?? '', alerting: params.get('alerting') === 'true' };
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [{ series, total }, options] = await Promise.all([
    api.get<SeriesList>(`/api/v1/series${qs({ ...filter, alerting: filter.alerting || null, limit: LIMIT, offset })}`),
    api.get<RunFilterOptions>('/api/v1/dashboard/filters'),
  ]);
  const alerting = series.filter((s) => s.activeAlerts > 0).length;
  render(main,
    h('h1', {}, 'Series'),
    h('p', { class: 'answer' }, `${total} series${filter.alerting ? ' with active alerts' : ''}; `,
      h('strong', {}, `${alerting} on this page ${alerting === 1 ? 'has' : 'have'} active alerts`),
      '. A series is one model variant on one device model, backend, runtime and harness version: its sessions are comparable over time.'),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter series', onsubmit: (e: Event) => e.preventDefault() },
      h('label', {}, 'Project ', h('select', { onchange: (e: Event) => go('/series', { ...filter, project: (e.target as HTMLSelectElement).value }) },
        h('option', { value: '' }, 'all'), options.projects.map((p) => h('option', { value: p, selected: p === filter.project }, p)))),
      h('label', {}, h('input', { type: 'checkbox', checked: filter.alerting, onchange: (e: Event) => go('/series', { ...filter, alerting: (e.target as HTMLInputElement).checked }) }),
        ' only series with active alerts')),
    h('table', { class: 'data', 'aria-label': 'Series' },
      h('thead', {}, h('tr', {}, ['Series', 'Device', 'Backend', 'Latest p50', 'Last 30 sessions', 'Trend', 'Alerts', 'Last session'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, series.map((s) => {
        const recent = [...s.recentP50Us].reverse();
        const last = recent[recent.length - 1];
        // Median of the newest third against the oldest third: one noisy session does not move it.
        const third = Math.max(1, Math.floor(recent.length / 3));
        const older = median(recent.slice(0, third));
        const newer = median(recent.slice(-third));
        const change = recent.length >= 6 && older ? ((newer! - older) / older) * 100 : null;
        const first = recent[0];
        return h('tr', { 'data-series': s.id },
          h('td', {}, h('a', { href: `#/series/${s.id}` }, `${s.model} ${s.variant}`), h('br', {}), h('span', { class: 'muted small' }, `${s.project} · ${s.runtime}`)),
          h('td', {}, poolLabel(s.deviceModel, s.emulated)),
          h('td', {}, s.backend),
          h('td', { class: 'num' }, ms(last ?? null)),
          h('td', {}, sparkline(recent, `p50 over the last ${recent.length} sessions, from ${ms(first ?? null)} to ${ms(last ?? null)}`)),
          h('td', { class: `num ${change !== null && change > 5 ? 'c-fail' : change !== null && change < -5 ? 'c-pass' : ''}` }, pct(change)),
          h('td', {}, s.activeAlerts ? h('a', { class: 'badge v-fail', href: href('/alerts', { status: 'active', series: s.id }) }, h('span', { 'aria-hidden': 'true' }, '!'), ` ${s.activeAlerts} active`) : h('span', { class: 'muted' }, 'none')),
          h('td', {}, ago(s.lastSessionAt)));
      }))),
    pager(total, offset, LIMIT, (o) => href('/series', { ...filter, offset: o })));
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
