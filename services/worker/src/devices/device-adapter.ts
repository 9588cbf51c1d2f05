import type { Logger } from 'pino';
import type { remote } from 'webdriverio';
import type { DeviceConfig, DeviceInfo, DeviceStateSnapshot } from './device-session.js';

export type Browser = Awaited<ReturnType<typeof remote>>;

export interface HarnessBundle {
  /** Directory on the worker host (and Appium host) with manifest.json. */
  dir: string;
  version: string;
}

/** Harnesses for phones: not the Linux bundle (see docs/devices.md, "Attaching a phone"). */
export interface PlatformHarnesses {
  /** A native harness for Android: a directory with manifest.json ({version, entry, files}) and the binaries. */
  android?: HarnessBundle;
  /** An iOS harness app: the .app/.ipa path on the Appium host and its bundle id. */
  ios?: { appPath: string; bundleId: string; version: string };
}

export interface AdapterContext {
  device: DeviceConfig;
  harness: HarnessBundle;
  /**
   * When `harness` is the native bundle: the Node harness, for what the native one does not run
   * yet (specs with a fidelity pass). Installed on first need.
   */
  nodeHarness?: HarnessBundle;
  platformHarnesses: PlatformHarnesses;
  log: Logger;
}

/**
 * One platform's way of doing the session steps over WebdriverIO. The session
 * (webdriver-device-session.ts) owns the WebDriver session, errors and validation.
 */
export interface DeviceAdapter {
  capabilities(): Record<string, unknown>;
  /** Forgets what it believed about the device (installed versions): called when the session is lost. */
  reset(): void;
  /** Installs the harness unless this version is there already. */
  ensureHarness(b: Browser): Promise<void>;
  /** Puts the model on the device unless a file with this sha256 is there; returns its device path. */
  ensureModel(b: Browser, artifactPath: string, sha256: string, format: string): Promise<string>;
  info(b: Browser): Promise<DeviceInfo>;
  state(b: Browser): Promise<DeviceStateSnapshot>;
  /** Pushes the spec, runs the harness, pulls the report; returns the report's JSON text. */
  runHarness(b: Browser, specJson: string, runLabel: string, budgetSec: number): Promise<string>;
}
