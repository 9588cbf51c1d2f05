import type { Logger } from 'pino';
import { AndroidAdapter } from './android-adapter.js';
import type { DeviceAdapter, HarnessBundle, PlatformHarnesses } from './device-adapter.js';
import type { DeviceConfig, DeviceSession } from './device-session.js';
import { IosAdapter } from './ios-adapter.js';
import { LinuxAdapter } from './linux-adapter.js';
import { WebDriverDeviceSession } from './webdriver-device-session.js';

export interface OpenDeviceSessionOptions {
  appiumUrl: string;
  /** The Linux harness bundle (`ensureHarnessBundle()`), installed on Linux targets by version. */
  harnessBundle: HarnessBundle;
  /** With a native `harnessBundle`: the Node harness bundle, for specs with a fidelity pass. */
  nodeHarnessBundle?: HarnessBundle;
  /** Host-side directory for this layer's files (pulled reports). */
  cacheDir: string;
  logger: Logger;
  /** Harnesses for phones; an Android/iOS device without one fails its sessions clearly. */
  platformHarnesses?: PlatformHarnesses;
  /** Open the WebDriver session now rather than on first use. @defaultValue true */
  connect?: boolean;
  /** Seconds past a spec's time budget before the device side kills the harness. @defaultValue 60 */
  killGraceSec?: number;
}

export function adapterFor(device: DeviceConfig, opts: OpenDeviceSessionOptions): DeviceAdapter {
  const ctx = {
    device,
    harness: opts.harnessBundle,
    nodeHarness: opts.nodeHarnessBundle,
    platformHarnesses: opts.platformHarnesses ?? {},
    log: 'deviceId' in opts.logger.bindings() ? opts.logger : opts.logger.child({ deviceId: device.id }),
  };
  switch (device.platform) {
    case 'linux':
      return new LinuxAdapter(ctx);
    case 'android':
      return new AndroidAdapter(ctx);
    case 'ios':
      return new IosAdapter(ctx);
    default:
      throw new Error(`device ${device.id}: unknown platform ${JSON.stringify(device.platform)}`);
  }
}

/**
 * The worker's one way to a device: a WebDriver session through Appium, reused across jobs,
 * re-created on loss. Rejects with DeviceUnavailableError when no session can be started.
 */
export async function openDeviceSession(device: DeviceConfig, opts: OpenDeviceSessionOptions): Promise<WebDriverDeviceSession> {
  const session = new WebDriverDeviceSession(device, adapterFor(device, opts), opts);
  if (opts.connect !== false) {
    try {
      await session.connect();
    } catch (err) {
      await session.close();
      throw err;
    }
  }
  return session;
}

export type { DeviceSession };
