import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeviceConfig } from './device-session.js';

export interface DiscoverLocalDevicesOptions {
  dataDir: string;
  /** @defaultValue os.hostname() */
  hostname?: string;
}

/** A name safe in ids, queue names and paths. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'host';
}

/** The root directory that device-agents/qemu/build-rootfs.sh builds. */
export function qemuRootfsDir(dataDir: string): string {
  return path.join(dataDir, 'qemu-arm64', 'rootfs');
}

/**
 * The Linux targets of this machine: the machine itself (pool `host-<arch>`) and, when its
 * root filesystem has been built, the emulated arm64 device (pool `qemu-arm64`).
 */
export async function discoverLocalDevices(opts: DiscoverLocalDevicesOptions): Promise<DeviceConfig[]> {
  const host = slug(opts.hostname ?? os.hostname());
  const arch = os.machine();
  const devices: DeviceConfig[] = [
    {
      id: `host-${host}`,
      name: `${host} (${arch})`,
      platform: 'linux',
      pool: `host-${arch}`,
      emulated: false,
      arch,
      capabilities: {
        platformName: 'Linux',
        'appium:automationName': 'PocketbenchLinux',
        'pocketbench:target': 'local',
        'pocketbench:workDir': path.join(opts.dataDir, 'devices', `host-${host}`),
      },
    },
  ];
  const rootfs = qemuRootfsDir(opts.dataDir);
  const haveRootfs = await access(path.join(rootfs, 'usr/bin/node')).then(
    () => true,
    () => false,
  );
  if (haveRootfs) {
    devices.push({
      id: `qemu-arm64-${host}`,
      name: `qemu-arm64 on ${host} (emulated)`,
      platform: 'linux',
      pool: 'qemu-arm64',
      poolLabel: 'qemu-arm64 (emulated)',
      emulated: true,
      arch: 'aarch64',
      capabilities: {
        platformName: 'Linux',
        'appium:automationName': 'PocketbenchLinux',
        'pocketbench:target': 'qemu-arm64',
        'pocketbench:rootfs': rootfs,
        'pocketbench:workDir': path.join(opts.dataDir, 'devices', `qemu-arm64-${host}`),
      },
    });
  }
  return devices;
}
