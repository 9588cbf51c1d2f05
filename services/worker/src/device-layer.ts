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
  startAppiumServer(opts: { appiumHome: string; logger: Logger }): Promise<AppiumServerHandle>;
  openDeviceSession(
    device: DeviceConfig,
    opts: { appiumUrl: string; harnessBundle: HarnessBundle; cacheDir: string; logger: Logger },
  ): Promise<DeviceSession>;
  discoverLocalDevices(opts: { dataDir: string; hostname?: string }): Promise<DeviceConfig[]>;
  ensureHarnessBundle(opts: { dataDir: string }): Promise<HarnessBundle>;
}

/** The real device layer and harness bundle, loaded when a worker host starts. */
export async function loadDeviceLayer(): Promise<DeviceLayer> {
  // Loaded on demand: WebdriverIO and the bundler are a worker host's, not every importer's.
  const devices: Omit<DeviceLayer, 'ensureHarnessBundle'> = await import('./devices/index.js');
  const bundle: Pick<DeviceLayer, 'ensureHarnessBundle'> = await import('@pocketbench/harness/bundle');
  return {
    startAppiumServer: devices.startAppiumServer,
    openDeviceSession: devices.openDeviceSession,
    discoverLocalDevices: devices.discoverLocalDevices,
    ensureHarnessBundle: bundle.ensureHarnessBundle,
  };
}
