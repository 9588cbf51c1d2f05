import { api } from '../api.js';
import { statusBadge } from '../components/badges.js';
import { h, render } from '../dom.js';
import { ago, poolLabel } from '../format.js';
import type { PageContext } from '../page.js';
import type { FleetView } from '@pocketbench/contracts';

/** Device temperature above which a session waits for cooldown on most phones. */
const HOT_C = 45;

/** Fleet: which devices can take work right now, and which need a person? */
export async function fleetPage({ main }: PageContext): Promise<void> {
  const f = await api.get<FleetView>('/api/v1/fleet');
  const available = f.devices.filter((d) => d.state === 'online' && !d.heartbeatStale).length;
  const attention = f.devices.filter((d) => d.state === 'offline' || d.state === 'quarantined' || d.heartbeatStale);
  render(main,
    h('h1', {}, 'Fleet'),
    h('p', { class: 'answer' }, h('strong', {}, `${available} of ${f.devices.length} devices can take work now`),
      `; ${f.counts.busy ?? 0} busy`,
      attention.length ? [', ', h('strong', { class: 'c-fail' }, `${attention.length} need attention`), ` (${attention.map((d) => d.name).join(', ')})`] : '', '.'),
    h('ul', { class: 'chips', 'aria-label': 'Pools' }, f.pools.map((p) => h('li', { class: 'chip' }, h('strong', {}, poolLabel(p.pool, p.emulated)), ` ${p.available}/${p.devices} available`))),
    h('table', { class: 'data', 'aria-label': 'Devices' },
      h('thead', {}, h('tr', {}, ['State', 'Device', 'Pool', 'Model · OS', 'Backends', 'Last heartbeat', 'Current job', 'Temperature', 'Last session'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, f.devices.map((d) => {
        const t = d.lastState?.temperatureC ?? null;
        return h('tr', { 'data-device': d.id },
          h('td', {}, statusBadge(d.state), d.stateReason ? h('div', { class: 'muted small' }, d.stateReason) : null),
          h('td', {}, h('strong', {}, d.name), h('br', {}), h('span', { class: 'muted small mono' }, d.id), d.emulated ? h('span', { class: 'muted small' }, ' · emulated') : null),
          h('td', {}, poolLabel(d.pool, d.emulated)),
          h('td', {}, `${d.deviceModel} · ${d.os ?? d.platform} ${d.osVersion ?? ''}`, h('br', {}), h('span', { class: 'muted small' }, `${d.arch}${d.soc ? ` · ${d.soc}` : ''} · ${d.host}`)),
          h('td', {}, d.backends.join(', ')),
          h('td', { title: d.lastHeartbeatAt, class: d.heartbeatStale ? 'c-fail' : '' }, d.heartbeatStale ? '⚠ ' : '', ago(d.lastHeartbeatAt), d.heartbeatStale ? ' (stale)' : ''),
          h('td', {}, d.currentRunId ? h('a', { href: `#/runs/${d.currentRunId}`, class: 'mono' }, d.currentJobId ?? '') : h('span', { class: 'muted' }, 'idle')),
          h('td', { class: `num ${t !== null && t >= HOT_C ? 'c-fail' : ''}` }, t === null ? '—' : `${t.toFixed(1)} °C${t >= HOT_C ? ' (hot)' : ''}`),
          h('td', {}, d.lastSessionId ? h('a', { href: `#/sessions/${d.lastSessionId}` }, ago(d.lastSessionAt)) : h('span', { class: 'muted' }, 'never')));
      }))),
    h('p', { class: 'legend' }, `Temperature is the hottest thermal zone after the device's latest session; ${HOT_C} °C and above is marked hot (sessions wait for cooldown). `,
      'A heartbeat older than the device\u2019s TTL is stale: the reaper takes the device offline.'));
}
