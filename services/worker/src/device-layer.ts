import type { Logger } from 'pino';
import type { DeviceConfig, DeviceSession } from './devices/device-session.js';

/** The Appium server the worker host talks to (its own, supervised, or `APPIUM_URL`'s). */
export interface AppiumServerHandle {
  url: string;
  stop(): Promise<void>;
  restart?(): Promise<void>;
}

export interface HarnessBundle {
  dir: string;
  version: string;
}

/**
 * What the worker needs from the device layer (services/worker/src/devices) and the harness
 * (ensureHarnessBundle). Injected so tests and the scheduling bench use the real ones the same way.
 */
export interface DeviceLayer {
  startAppiumServer(opts: { appiumHome: string; logger: Logger; deviceRoots?: string[] }): Promise<AppiumServerHandle>;
  openDeviceSession(
    device: DeviceConfig,
    opts: { appiumUrl: string; harnessBundle: HarnessBundle; cacheDir: string; logger: Logger; nodeHarnessBundle?: HarnessBundle; platformHarnesses?: { android?: HarnessBundle } },
  ): Promise<DeviceSession>;
  discoverLocalDevices(opts: { dataDir: string; hostname?: string }): Promise<DeviceConfig[]>;
  ensureHarnessBundle(opts: { dataDir: string }): Promise<HarnessBundle>;
  /**
   * The self-contained native harness for an architecture (device-agents/harness/native): what
   * devices without node run (the emulated arm64 device, Android phones, boards that ask for it).
   * Absent in injected layers that serve no such device.
   */
  ensureNativeHarnessBundle?(opts: { dataDir: string; arch: NativeArch }): Promise<HarnessBundle>;
  /** The native bundle for `arch` when it is already built for the current sources; nothing is built. */
  findNativeHarnessBundle?(opts: { dataDir: string; arch: NativeArch }): Promise<HarnessBundle | undefined>;
}

export type NativeArch = 'aarch64' | 'x86_64';

/**
 * Which devices run the native bundle instead of the Node harness: the emulated arm64 device
 * (no node needed on it), Android phones (unless another Android harness is configured), and
 * any Linux target whose capabilities say `pocketbench:harness: "native"` (an ssh board without
 * node; `pocketbench:arch` picks the architecture, default aarch64).
 */
export function nativeHarnessArch(device: DeviceConfig): NativeArch | undefined {
  const caps = device.capabilities ?? {};
  if (device.platform === 'android') return 'aarch64';
  if (caps['pocketbench:target'] === 'qemu-arm64') return 'aarch64';
  if (caps['pocketbench:harness'] === 'native') return caps['pocketbench:arch'] === 'x86_64' ? 'x86_64' : 'aarch64';
  return undefined;
}

/**
 * This machine's own device (the local target) runs the native bundle of its architecture when
 * `mode` allows: `node` never, `native` always (built if needed), `auto` when it is already built.
 * The native harness starts no node, compiles no schemas and profiles placement in the timed
 * session itself: a session costs the device less around the same timed loop.
 */
export async function hostDeviceNativeArch(
  device: DeviceConfig,
  mode: 'auto' | 'native' | 'node',
  find: (arch: NativeArch) => Promise<HarnessBundle | undefined>,
): Promise<NativeArch | undefined> {
  if (mode === 'node' || device.capabilities?.['pocketbench:target'] !== 'local') return undefined;
  const arch = device.arch === 'x86_64' || device.arch === 'aarch64' ? device.arch : undefined;
  if (!arch) return undefined;
  if (mode === 'native') return arch;
  return (await find(arch)) ? arch : undefined;
}

/** The real device layer and harness bundle, loaded when a worker host starts. */
export async function loadDeviceLayer(): Promise<DeviceLayer> {
  // Loaded on demand: WebdriverIO and the bundler are a worker host's, not every importer's.
  const devices: Omit<DeviceLayer, 'ensureHarnessBundle'> = await import('./devices/index.js');
  const bundle: Pick<DeviceLayer, 'ensureHarnessBundle' | 'ensureNativeHarnessBundle' | 'findNativeHarnessBundle'> = await import('@pocketbench/harness/bundle');
  return {
    startAppiumServer: devices.startAppiumServer,
    openDeviceSession: devices.openDeviceSession,
    discoverLocalDevices: devices.discoverLocalDevices,
    ensureHarnessBundle: bundle.ensureHarnessBundle,
    ensureNativeHarnessBundle: bundle.ensureNativeHarnessBundle,
    findNativeHarnessBundle: bundle.findNativeHarnessBundle,
  };
}
