import { api } from '../api.js';
import { Chart } from '../charts.js';
import { h } from '../dom.js';
import { bytes, dateTime, ms, poolLabel, sha } from '../format.js';
import type { DeviceStateView, SessionView } from '@pocketbench/contracts';

/** One session: its iteration histogram, summary and the device state before and after. */
export async function sessionPanel(sessionId: number, onLeave: (fn: () => void) => void): Promise<HTMLElement> {
  const s = await api.get<SessionView>(`/api/v1/sessions/${sessionId}`);
  const canvas = h('canvas', { role: 'img', 'aria-label': `Histogram of ${s.iterationsUs.length} timed iterations of session ${s.id}; median ${ms(s.summary.p50Us)}, p90 ${ms(s.summary.p90Us)}` });
  const { edgesUs, counts } = s.histogram;
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: counts.map((_, i) => (edgesUs[i] / 1000).toFixed(2)),
      datasets: [{ label: 'iterations', data: counts, backgroundColor: '#60a5fa', borderColor: '#2563eb', borderWidth: 1, barPercentage: 1, categoryPercentage: 1 }],
    },
    options: {
      responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => `${(edgesUs[items[0].dataIndex] / 1000).toFixed(2)}–${(edgesUs[items[0].dataIndex + 1] / 1000).toFixed(2)} ms` } } },
      scales: { x: { title: { display: true, text: 'iteration latency (ms, bin start)' } }, y: { title: { display: true, text: 'iterations' }, beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  onLeave(() => chart.destroy());
  const sm = s.summary;
  return h('section', { class: 'session', id: 'session-panel', 'aria-label': `Session ${s.id}`, 'data-session': s.id },
    h('h2', {}, `Session ${s.id}`, h('span', { class: `status s-${s.status}` }, ` ${s.status}`)),
    h('p', { class: 'meta' }, `${s.model} ${s.variant} (${s.format}) · commit `, h('span', { class: 'mono' }, sha(s.commitSha)), ` on ${s.branch ?? '—'} · `,
      h('a', { href: `#/runs/${s.runId}` }, 'run'), ` · ${dateTime(s.createdAt)} · device ${s.device.name ?? s.device.id ?? '—'} (${s.device.pool ? poolLabel(s.device.pool, s.device.emulated) : '—'})`),
    s.errorMessage ? h('p', { class: 'error' }, `${s.errorClass ?? 'error'}: ${s.errorMessage}`) : null,
    h('div', { class: 'two' },
      h('figure', { class: 'chart small-chart' }, h('div', { class: 'canvas-box' }, canvas),
        h('figcaption', {}, `Every timed iteration (${s.iterationsUs.length}) of this session: a wide or two-humped histogram means a noisy device.`)),
      h('div', {},
        h('table', { class: 'kv', 'aria-label': 'Session figures' }, h('tbody', {},
          kv('p50 / p90 / p99', `${ms(sm.p50Us)} / ${ms(sm.p90Us)} / ${ms(sm.p99Us)}`),
          kv('min / mean', `${ms(sm.minUs)} / ${ms(sm.meanUs)}`),
          kv('CV / MAD', `${sm.cv === null ? '—' : `${(sm.cv * 100).toFixed(1)} %`} / ${ms(sm.madUs)}`),
          kv('load / first inference', `${s.loadMs?.toFixed(1) ?? '—'} ms / ${s.firstInferenceMs?.toFixed(1) ?? '—'} ms`),
          kv('peak RSS', `${bytes(s.peakRssBytes)} (${s.peakRssMethod ?? '—'})`),
          kv('model size', bytes(s.modelSizeBytes)),
          kv('backend', `${s.backendRequested} → used ${s.backendUsed ?? '—'}`),
          kv('runtime / harness', `${s.runtime ?? '—'} ${s.runtimeVersion ?? ''} / ${s.harnessVersion ?? '—'}`))),
        deviceTable(s.deviceBefore, s.deviceAfter))));
}

const kv = (k: string, v: string) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v));

function deviceTable(before: DeviceStateView | null, after: DeviceStateView | null): HTMLElement {
  const cell = (d: DeviceStateView | null, f: (d: DeviceStateView) => string) => h('td', {}, d ? f(d) : '—');
  const row = (k: string, f: (d: DeviceStateView) => string) => h('tr', {}, h('th', { scope: 'row' }, k), cell(before, f), cell(after, f));
  return h('table', { class: 'kv device-state', 'aria-label': 'Device state before and after the session' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Device state'), h('th', { scope: 'col' }, 'before'), h('th', { scope: 'col' }, 'after'))),
    h('tbody', {},
      row('temperature', (d) => (d.temperatureC === null ? '—' : `${d.temperatureC.toFixed(1)} °C`)),
      row('CPU MHz', (d) => (d.cpuFreqMhz.length ? d.cpuFreqMhz.join(' / ') : '—')),
      row('governor', (d) => d.governor ?? '—'),
      row('load avg', (d) => d.loadAvg?.map((x) => x.toFixed(2)).join(' ') ?? '—'),
      row('battery', (d) => (d.batteryPct === null ? '—' : `${d.batteryPct} %`))));
}
