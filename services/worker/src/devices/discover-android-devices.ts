import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DeviceConfig } from './device-session.js';
import { slug } from './discover-local-devices.js';

export interface AdbDevice {
  serial: string;
  state: string;
  model?: string;
  product?: string;
  device?: string;
  transportId?: string;
}

/** Parses `adb devices -l`; lines that are not devices (the header, daemon notices) are skipped. */
export function parseAdbDevices(out: string): AdbDevice[] {
  const devices: AdbDevice[] = [];
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+(device|offline|unauthorized|no permissions|recovery|sideload|bootloader)\b(.*)$/.exec(line.trim());
    if (!m || line.startsWith('List of devices') || line.startsWith('*')) continue;
    const d: AdbDevice = { serial: m[1], state: m[2] };
    for (const [, k, v] of m[3].matchAll(/(\w+):(\S+)/g)) {
      if (k === 'model') d.model = v;
      else if (k === 'product') d.product = v;
      else if (k === 'device') d.device = v;
      else if (k === 'transport_id') d.transportId = v;
    }
    devices.push(d);
  }
  return devices;
}

/** One DeviceConfig per attached, authorised phone; the pool is the phone model (`android-pixel_7`). */
export function androidDeviceConfigs(devices: AdbDevice[]): DeviceConfig[] {
  return devices
    .filter((d) => d.state === 'device')
    .map((d) => {
      const model = slug(d.model ?? d.product ?? 'unknown');
      return {
        id: `android-${slug(d.serial)}`,
        name: `${(d.model ?? d.serial).replace(/_/g, ' ')} (${d.serial})`,
        platform: 'android' as const,
        pool: `android-${model}`,
        emulated: d.serial.startsWith('emulator-'),
        capabilities: { 'appium:udid': d.serial },
      };
    });
}

/** Phones that `adb devices -l` lists as ready. An absent adb means no phones, not an error. */
export async function discoverAndroidDevices(opts: { adbPath?: string } = {}): Promise<DeviceConfig[]> {
  try {
    const { stdout } = await promisify(execFile)(opts.adbPath ?? 'adb', ['devices', '-l'], { timeout: 15_000 });
    return androidDeviceConfigs(parseAdbDevices(stdout));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
