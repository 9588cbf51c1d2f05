import type { Command } from 'commander';
import type { Device, DeviceList } from '@pocketbench/contracts';
import { client } from '../context.js';

function ago(iso: string | null | undefined): string {
  if (!iso) return '-';
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  return s < 90 ? `${s.toFixed(0)} s ago` : s < 5400 ? `${(s / 60).toFixed(0)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
}

export function registerDevicesCommand(program: Command): void {
  program
    .command('devices')
    .description('list registered devices: pool, state, last heartbeat, current job')
    .option('--json', 'print the api\'s JSON document')
    .option('--release <id>', 'lift a quarantine (or offline mark): the device takes jobs again (admin token)')
    .action(async (opts: { json?: boolean; release?: string }) => {
      if (opts.release) {
        const d = await client().post<Device>(`/api/v1/devices/${encodeURIComponent(opts.release)}/release`, {});
        process.stdout.write(opts.json ? `${JSON.stringify(d, null, 2)}\n` : `device ${d.id} released: ${d.state}\n`);
        return;
      }
      const doc = await client().get<DeviceList>('/api/v1/devices');
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      const { devices } = doc;
      if (!devices.length) {
        process.stdout.write('no devices registered; start a worker with "pocketbench worker" or "npm start"\n');
        return;
      }
      const header = ['id', 'pool', 'arch', 'state', 'last heartbeat', 'current job', 'backends', 'host'];
      const rows = devices.map((d) => [
        String(d.id),
        `${d.pool}${d.emulated ? ' (emulated)' : ''}`,
        String(d.arch ?? '-'),
        `${d.state}${d.stateReason ? `: ${d.stateReason}` : ''}`,
        ago(d.lastHeartbeatAt),
        String(d.currentJobId ?? '-'),
        (d.backends ?? []).join(','),
        String(d.host ?? '-'),
      ]);
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
      process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
    });
}
