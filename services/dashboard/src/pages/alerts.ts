import { api, qs } from '../api.js';
import { alertActions } from '../components/alert-actions.js';
import { directionBadge, statusBadge } from '../components/badges.js';
import { pager } from '../components/pager.js';
import { h, render } from '../dom.js';
import { ago, ms, sha } from '../format.js';
import { href, type PageContext } from '../page.js';
import type { AlertList } from '@pocketbench/contracts';

const LIMIT = 50;
const TABS = [['active', 'Active'], ['acknowledged', 'Acknowledged'], ['dismissed', 'Dismissed'], ['all', 'All']] as const;

/** Alerts: which changes after merge need a decision? */
export async function alertsPage({ main, params }: PageContext): Promise<void> {
  const status = params.has('status') ? params.get('status')! : 'active';
  const series = params.get('series');
  const offset = Number(params.get('offset') ?? 0) || 0;
  const list = await api.get<AlertList>(`/api/v1/alerts${qs({ status: status === 'all' ? null : status, series, limit: LIMIT, offset })}`);
  const reload = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const regressions = list.alerts.filter((a) => a.status === 'active' && a.direction === 'regression').length;
  render(main,
    h('h1', {}, 'Alerts'),
    h('p', { class: 'answer' }, list.counts.active === 0 ? 'No active alerts: nothing needs a decision.'
      : [h('strong', {}, `${list.counts.active} active alert${list.counts.active === 1 ? '' : 's'} need a decision`),
        regressions ? ` (${regressions} on this page ${regressions === 1 ? 'is a slowdown' : 'are slowdowns'})` : '', '.']),
    h('p', { class: 'legend' }, 'An alert is a change point in a series\u2019 session medians on the baseline branch (E-Divisive, p ≤ 0.001). ',
      h('strong', {}, 'Acknowledge'), ' when the change is real: the baseline restarts from it. ', h('strong', {}, 'Dismiss'), ' when it is noise.'),
    h('nav', { class: 'tabs', 'aria-label': 'Alert status' }, TABS.map(([value, label]) =>
      h('a', { href: href('/alerts', { status: value, series }), 'aria-current': status === value ? 'page' : null, class: 'chip' },
        label, value !== 'all' ? ` (${list.counts[value as keyof AlertList['counts']]})` : ''))),
    series ? h('p', {}, `Series ${series} only · `, h('a', { href: href('/alerts', { status }) }, 'show every series')) : null,
    list.alerts.length === 0 ? h('p', { class: 'muted' }, 'None.') :
      h('table', { class: 'data', 'aria-label': 'Alerts' },
        h('thead', {}, h('tr', {}, ['Change', 'Series', 'Suspect commit', 'p50 before → after', 'Changed', 'Status', 'Decision'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, list.alerts.map((a) => h('tr', { 'data-alert': a.id },
          h('td', {}, directionBadge(a.direction, a.changePct)),
          h('td', {}, h('a', { href: href(`/series/${a.seriesId}`, { session: a.sessionId }) }, `${a.series?.model} ${a.series?.variant}`),
            h('br', {}), h('span', { class: 'muted small' }, `${a.series?.deviceModel} · ${a.series?.backend} · ${a.series?.runtime}`)),
          h('td', { class: 'mono' }, a.runId ? h('a', { href: `#/runs/${a.runId}` }, sha(a.commitSha)) : sha(a.commitSha),
            h('div', { class: 'muted small' }, `after ${sha(a.previousCommitSha)}`)),
          h('td', { class: 'num' }, `${ms(a.beforeValue)} → ${ms(a.afterValue)}`, h('div', { class: 'muted small' }, `${a.sessionsBefore} vs ${a.sessionsAfter} sessions`)),
          h('td', { title: a.changedAt }, ago(a.changedAt)),
          h('td', {}, statusBadge(a.status)),
          h('td', {}, alertActions(a, reload)))))),
    pager(list.total, offset, LIMIT, (o) => href('/alerts', { status, series, offset: o })));
}
