import { api, qs } from '../api.js';
import { alertActions } from '../components/alert-actions.js';
import { directionBadge, statusBadge } from '../components/badges.js';
import { sessionPanel } from '../components/session-panel.js';
import { Chart, type Marker } from '../charts.js';
import { h, render } from '../dom.js';
import { ago, ms, poolLabel, sha } from '../format.js';
import { href, type PageContext } from '../page.js';
import type { Alert, SeriesPoint, SeriesView } from '@pocketbench/contracts';

const ALERT_COLOR: Record<string, string> = { active: '#dc2626', acknowledged: '#b45309', dismissed: '#9ca3af' };

/** Series: is this model getting slower on this device, since which commit? */
export async function seriesPage(ctx: PageContext, id: string): Promise<void> {
  const { main, params } = ctx;
  const asked = params.get('branch');
  let branch = asked ?? 'main';
  const before = params.get('before');
  let v = await api.get<SeriesView>(`/api/v1/series/${id}${qs({ branch, before })}`);
  if (!asked && !before && v.points.length === 0) {
    // Runs submitted without --branch are on no branch: show them rather than an empty main.
    const every = await api.get<SeriesView>(`/api/v1/series/${id}${qs({ branch: '*' })}`);
    if (every.points.length) {
      branch = '*';
      v = every;
    }
  }
  const s = v.series;
  const pts = v.points;
  const ok = pts.filter((p) => p.status === 'ok');
  const now = median(ok.slice(-10).map((p) => p.p50Us));
  const active = v.alerts.filter((a) => a.status === 'active');
  const latestActive = active[active.length - 1];

  const sessionBox = h('div', { id: 'session-box', 'aria-live': 'polite' });
  const openSession = async (sessionId: number) => {
    const u = new URLSearchParams(params);
    u.set('session', String(sessionId));
    history.replaceState(null, '', `#/series/${id}?${u.toString()}`);
    sessionBox.replaceChildren(h('p', { class: 'loading' }, 'Loading session…'));
    sessionBox.replaceChildren(await sessionPanel(sessionId, ctx.onLeave));
    sessionBox.scrollIntoView({ block: 'nearest' });
  };

  const canvas = h('canvas', {
    id: 'series-chart',
    role: 'img',
    'aria-label': `Session medians of ${s.model} ${s.variant} on ${poolLabel(s.deviceModel, s.emulated)} ${s.backend}: ${pts.length} sessions, latest p50 ${ms(now)}` +
      `${active.length ? `, ${active.length} active alert${active.length > 1 ? 's' : ''}` : ''}. Click a point to open that session.`,
  });
  const chart = seriesChart(canvas, v, (i) => void openSession(pts[i].sessionId));
  ctx.onLeave(() => chart.destroy());

  const reload = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  render(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/series' }, '← Series')),
    h('h1', {}, `${s.model} ${s.variant}`, h('span', { class: 'muted' }, ` · ${poolLabel(s.deviceModel, s.emulated)} · ${s.backend}`)),
    h('p', { class: 'meta' }, `${s.project} · ${s.runtime} · OS ${s.osMajor} · harness ${s.harnessVersion} · series ${s.id}`),
    h('p', { class: 'answer' },
      pts.length === 0 ? 'No sessions on this branch yet.' : [`Now `, h('strong', {}, `${ms(now)} p50`), ' (median of the last 10 sessions). ',
        latestActive ? [h('strong', { class: latestActive.direction === 'regression' ? 'c-fail' : 'c-pass' },
          `${latestActive.direction === 'regression' ? 'Slower' : 'Faster'} by ${Math.abs(latestActive.changePct).toFixed(1)} %`),
        ` since commit `, h('span', { class: 'mono' }, sha(latestActive.commitSha)), ` (${ago(latestActive.changedAt)}): an active alert below needs a decision.`]
          : 'No active alerts: no change point since the baseline started.']),
    h('div', { class: 'toolbar' },
      h('span', {}, 'Branch: '),
      h('a', { href: href(`/series/${id}`, { branch: 'main' }), 'aria-current': branch === 'main' ? 'true' : null, class: 'chip' }, 'main'),
      h('a', { href: href(`/series/${id}`, { branch: '*' }), 'aria-current': branch === '*' ? 'true' : null, class: 'chip' }, 'every branch'),
      v.nextBefore ? h('a', { href: href(`/series/${id}`, { branch, before: v.nextBefore }) }, '← Older sessions') : null,
      before ? h('a', { href: href(`/series/${id}`, { branch }) }, 'Newest sessions →') : null),
    h('figure', { class: 'chart' },
      h('div', { class: 'canvas-box tall' }, canvas),
      h('figcaption', {}, `Each point is one session's median (p50) latency, oldest to newest, labelled with its commit; the band spans each session's p10–p90. `,
        'Vertical lines mark change points: red = active alert, brown = acknowledged (the baseline restarts there), grey = dismissed. ',
        v.budgets.length ? `Dashed lines are budgets (${v.budgets.map((b) => `${b.metric.replace('_ms', '')} ≤ ${b.budgetMs} ms`).join(', ')}). ` : '',
        'Hollow grey points are unstable sessions (excluded from baselines). Click a point to see its iterations and device state.')),
    sessionBox,
    v.alerts.length ? h('section', {}, h('h2', {}, 'Change points'), alertTable(v.alerts, reload)) : null,
    h('section', {}, h('h2', {}, 'Latest sessions'), sessionTable(pts.slice(-12).reverse(), (sid) => void openSession(sid))));

  const wanted = Number(params.get('session'));
  if (wanted) await openSession(wanted);
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function indexOfChange(pts: SeriesPoint[], sessionId: number | null, at: string): number {
  const exact = pts.findIndex((p) => p.sessionId === sessionId);
  if (exact >= 0) return exact;
  const t = new Date(at).getTime();
  return pts.findIndex((p) => new Date(p.createdAt).getTime() >= t);
}

function seriesChart(canvas: HTMLCanvasElement, v: SeriesView, onPick: (i: number) => void): Chart {
  const pts = v.points;
  const markers: Marker[] = [];
  for (const a of v.alerts) {
    const i = indexOfChange(pts, a.sessionId, a.changedAt);
    if (i > 0) markers.push({ index: i, color: ALERT_COLOR[a.status], dash: a.status === 'dismissed' ? [4, 4] : undefined, label: `${a.direction === 'regression' ? '▲' : '▼'} ${a.changePct > 0 ? '+' : ''}${a.changePct.toFixed(1)} % ${a.status}` });
  }
  for (const sgm of v.segments) {
    const i = indexOfChange(pts, sgm.startSessionId, sgm.startsAt);
    if (i > 0 && !markers.some((m) => m.index === i)) markers.push({ index: i, color: '#15803d', label: 'baseline restarts' });
  }
  const toMs = (us: number | null) => (us === null ? null : us / 1000);
  const budgetColors = ['#ea580c', '#7c3aed'];
  return new Chart(canvas, {
    type: 'line',
    data: {
      labels: pts.map((p) => sha(p.commitSha)),
      datasets: [
        { label: 'p10', data: pts.map((p) => toMs(p.p10Us)), borderWidth: 0, pointRadius: 0, fill: false },
        { label: 'p10–p90 of each session', data: pts.map((p) => toMs(p.p90Us)), borderWidth: 0, pointRadius: 0, fill: '-1', backgroundColor: 'rgba(37, 99, 235, 0.14)' },
        {
          label: 'p50 (session median)', data: pts.map((p) => p.p50Us / 1000), borderColor: '#1d4ed8', backgroundColor: '#1d4ed8', borderWidth: 1.5,
          pointRadius: pts.length > 400 ? 1.5 : 2.5, pointHoverRadius: 6,
          pointBackgroundColor: pts.map((p) => (p.status === 'ok' ? '#1d4ed8' : '#ffffff')),
          pointBorderColor: pts.map((p) => (p.status === 'ok' ? '#1d4ed8' : '#6b7280')),
        },
        ...v.budgets.map((b, k) => ({
          label: `${b.metric.replace('_ms', '')} budget ${b.budgetMs} ms`, data: pts.map(() => b.budgetMs), borderColor: budgetColors[k % 2],
          borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false,
        })),
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      onClick: (_e, _els, chart) => {
        const el = chart.getActiveElements()[0];
        if (el) onPick(el.index);
      },
      plugins: {
        legend: { labels: { filter: (item) => item.text !== 'p10' } },
        tooltip: {
          filter: (item) => item.datasetIndex === 2,
          callbacks: {
            title: (items) => {
              const p = pts[items[0].dataIndex];
              return `commit ${sha(p.commitSha)} · ${p.branch ?? ''} · ${new Date(p.createdAt).toISOString().slice(0, 16).replace('T', ' ')}`;
            },
            label: (item) => {
              const p = pts[item.dataIndex];
              return [`p50 ${ms(p.p50Us)} (p10 ${ms(p.p10Us)}, p90 ${ms(p.p90Us)})`, `session ${p.sessionId} · ${p.status} · click to open`];
            },
          },
        },
        markers: { list: markers },
      },
      scales: {
        x: { title: { display: true, text: 'commit (oldest → newest)' }, ticks: { autoSkip: true, maxTicksLimit: 14, maxRotation: 0 } },
        y: { title: { display: true, text: 'latency (ms)' } },
      },
    },
  });
}

function alertTable(alerts: Alert[], done: () => void): HTMLElement {
  return h('table', { class: 'data', 'aria-label': 'Change points of this series' },
    h('thead', {}, h('tr', {}, ['Change', 'Commit', 'Before → after (p50)', 'When', 'Status', 'Decision'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, [...alerts].reverse().map((a) => h('tr', { 'data-alert': a.id },
      h('td', {}, directionBadge(a.direction, a.changePct)),
      h('td', { class: 'mono' }, `${sha(a.previousCommitSha)} → ${sha(a.commitSha)}`),
      h('td', { class: 'num' }, `${ms(a.beforeValue)} → ${ms(a.afterValue)}`),
      h('td', {}, ago(a.changedAt)),
      h('td', {}, statusBadge(a.status)),
      h('td', {}, alertActions(a, done))))));
}

function sessionTable(pts: SeriesPoint[], open: (id: number) => void): HTMLElement {
  return h('table', { class: 'data', 'aria-label': 'Latest sessions of this series' },
    h('thead', {}, h('tr', {}, ['Session', 'Commit', 'Branch', 'p10', 'p50', 'p90', 'Status', 'When'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, pts.map((p) => h('tr', {},
      h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => open(p.sessionId), 'data-open-session': p.sessionId }, `Open ${p.sessionId}`)),
      h('td', {}, h('a', { class: 'mono', href: `#/runs/${p.runId}` }, sha(p.commitSha))),
      h('td', {}, p.branch ?? '—'),
      h('td', { class: 'num' }, ms(p.p10Us)), h('td', { class: 'num' }, ms(p.p50Us)), h('td', { class: 'num' }, ms(p.p90Us)),
      h('td', {}, statusBadge(p.status)),
      h('td', {}, ago(p.createdAt))))));
}
