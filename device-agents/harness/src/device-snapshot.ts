import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import type { DeviceSnapshot, HostFacts } from '@pocketbench/contracts';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Temperatures, CPU frequencies, governor, load and free memory, from sysfs/procfs; absent facts stay empty. */
export function readDeviceSnapshot(): DeviceSnapshot {
  const cpus = list('/sys/devices/system/cpu')
    .filter((d) => /^cpu\d+$/.test(d))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  const cpuFreqKhz: number[] = [];
  for (const cpu of cpus) {
    const f = read(`/sys/devices/system/cpu/${cpu}/cpufreq/scaling_cur_freq`);
    if (f && /^\d+$/.test(f)) cpuFreqKhz.push(Number(f));
  }
  const thermalZones: Record<string, number> = {};
  for (const zone of list('/sys/class/thermal').filter((z) => z.startsWith('thermal_zone'))) {
    const milli = read(`/sys/class/thermal/${zone}/temp`);
    if (!milli || !/^-?\d+$/.test(milli)) continue;
    const type = read(`/sys/class/thermal/${zone}/type`) || zone;
    const key = type in thermalZones ? `${type}.${zone}` : type;
    thermalZones[key] = Number(milli) / 1000;
  }
  const memAvailKb = /MemAvailable:\s+(\d+) kB/.exec(read('/proc/meminfo') ?? '')?.[1];
  const [l1, l5, l15] = os.loadavg();
  const snapshot: DeviceSnapshot = {
    takenAt: new Date().toISOString(),
    thermalZones,
    cpuFreqKhz,
    governor: read('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor') ?? null,
    loadAvg: [l1, l5, l15],
  };
  if (memAvailKb) snapshot.memAvailableBytes = Number(memAvailKb) * 1024;
  return snapshot;
}

export function readHostFacts(): HostFacts {
  const cpuinfo = read('/proc/cpuinfo') ?? '';
  // x86 names the CPU in "model name"; arm64 kernels often only give "Hardware" or nothing.
  const cpuModel =
    /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ??
    /^Hardware\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ??
    (os.cpus()[0]?.model || 'unknown');
  const osRelease = read('/etc/os-release') ?? '';
  return {
    arch: os.machine(),
    cpuModel: cpuModel.trim(),
    cores: os.availableParallelism(),
    kernel: os.release(),
    os: /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? `${os.type()} ${os.release()}`,
    memoryBytes: os.totalmem(),
  };
}
