/**
 * Small programs the target's node runs from stdin (`node -`) to read facts and live state.
 * Plain JS for Node >= 18, no dependencies: they run on boards and under emulation too.
 */

/** Facts that do not change while a device is up: `mobile: deviceInfo`. */
export const FACTS_PROBE = String.raw`
const os = require('os'); const fs = require('fs');
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch { return undefined; } };
const ARM_PARTS = { '0xd03': 'Cortex-A53', '0xd04': 'Cortex-A35', '0xd05': 'Cortex-A55', '0xd07': 'Cortex-A57',
  '0xd08': 'Cortex-A72', '0xd09': 'Cortex-A73', '0xd0a': 'Cortex-A75', '0xd0b': 'Cortex-A76', '0xd0c': 'Neoverse-N1',
  '0xd0d': 'Cortex-A77', '0xd40': 'Neoverse-V1', '0xd41': 'Cortex-A78', '0xd44': 'Cortex-X1', '0xd46': 'Cortex-A510',
  '0xd47': 'Cortex-A710', '0xd48': 'Cortex-X2', '0xd49': 'Neoverse-N2', '0xd4b': 'Cortex-A78C' };
const cpuinfo = read('/proc/cpuinfo') || '';
const field = (name) => { const m = cpuinfo.match(new RegExp('^' + name + '\\s*:\\s*(.+)$', 'm')); return m ? m[1].trim() : undefined; };
let cpuModel = field('model name') || field('Hardware');
const part = field('CPU part');
if (!cpuModel && part) cpuModel = (field('CPU implementer') === '0x41' ? 'ARM ' : '') + (ARM_PARTS[part] || 'part ' + part);
const cpus = os.cpus();
if (!cpuModel) cpuModel = (cpus[0] && cpus[0].model) || 'unknown';
const osRelease = read('/etc/os-release') || '';
const rel = (k) => { const m = osRelease.match(new RegExp('^' + k + '="?([^"\\n]*)"?$', 'm')); return m ? m[1] : undefined; };
const thermal = [];
try { for (const z of fs.readdirSync('/sys/class/thermal')) if (z.startsWith('thermal_zone')) thermal.push(((read('/sys/class/thermal/' + z + '/type') || z).trim())); } catch {}
const model = (read('/proc/device-tree/model') || read('/sys/class/dmi/id/product_name') || '').replace(/\0/g, '').trim();
process.stdout.write(JSON.stringify({
  arch: typeof os.machine === 'function' ? os.machine() : (process.arch === 'arm64' ? 'aarch64' : process.arch === 'x64' ? 'x86_64' : process.arch),
  nodeArch: process.arch,
  cpuModel, cores: cpus.length || Number(field('processor')) + 1 || 1,
  memoryBytes: os.totalmem(),
  os: rel('PRETTY_NAME') || os.type(), osVersion: rel('VERSION_ID') || os.release(), kernel: os.release(),
  deviceModel: model || os.hostname(), hostname: os.hostname(),
  nodeVersion: process.version, thermalZones: thermal,
}));
`;

/** Live state: `mobile: deviceState`. Temperatures in °C, frequencies in kHz. */
export const STATE_PROBE = String.raw`
const os = require('os'); const fs = require('fs');
const read = (p) => { try { return fs.readFileSync(p, 'utf8').trim(); } catch { return undefined; } };
const thermalZones = {};
try { for (const z of fs.readdirSync('/sys/class/thermal')) {
  if (!z.startsWith('thermal_zone')) continue;
  const t = Number(read('/sys/class/thermal/' + z + '/temp'));
  if (Number.isFinite(t)) { let name = read('/sys/class/thermal/' + z + '/type') || z; if (name in thermalZones) name = z; thermalZones[name] = t / 1000; }
} } catch {}
const cpuFreqKhz = [];
for (let i = 0; i < os.cpus().length; i++) {
  const f = Number(read('/sys/devices/system/cpu/cpu' + i + '/cpufreq/scaling_cur_freq'));
  if (Number.isFinite(f) && f > 0) cpuFreqKhz.push(f);
}
if (cpuFreqKhz.length === 0) for (const c of os.cpus()) if (c.speed > 0) cpuFreqKhz.push(c.speed * 1000);
const mem = read('/proc/meminfo') || '';
const avail = mem.match(/^MemAvailable:\s+(\d+) kB/m);
const out = { takenAt: new Date().toISOString(), thermalZones, cpuFreqKhz, loadAvg: os.loadavg(), uptimeSec: os.uptime() };
const gov = read('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor'); if (gov) out.governor = gov;
if (avail) out.memAvailableBytes = Number(avail[1]) * 1024;
const cap = read('/sys/class/power_supply/BAT0/capacity') || read('/sys/class/power_supply/battery/capacity');
if (cap) out.batteryPct = Number(cap);
process.stdout.write(JSON.stringify(out));
`;
