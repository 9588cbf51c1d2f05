import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Backend } from '@pocketbench/contracts';
import type { AdapterContext, Browser, DeviceAdapter } from './device-adapter.js';
import type { DeviceInfo, DeviceStateSnapshot } from './device-session.js';
import { HarnessFailedError, HarnessTimeoutError, TransferError } from './errors.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** XCUITest's names for NSProcessInfoThermalState. */
const THERMAL = ['nominal', 'fair', 'serious', 'critical'];

/**
 * iPhones through Appium's XCUITest driver: the harness is an app (file sharing enabled) that
 * reads its spec from and writes its report to its Documents container, started with launch
 * arguments. Not run on hardware here; see docs/devices.md.
 */
export class IosAdapter implements DeviceAdapter {
  private installedVersion?: string;
  /** Models verified in the app container during this session (pulling back is the only hash check iOS allows). */
  private readonly verified = new Set<string>();
  /** Report polling interval. */
  pollMs = 2000;
  constructor(private readonly ctx: AdapterContext) {}

  reset(): void {
    this.installedVersion = undefined;
    this.verified.clear();
  }

  capabilities(): Record<string, unknown> {
    return {
      platformName: 'iOS',
      'appium:automationName': 'XCUITest',
      'appium:noReset': true,
      'appium:newCommandTimeout': 3600,
      ...this.ctx.device.capabilities,
    };
  }

  private app() {
    const h = this.ctx.platformHarnesses.ios;
    if (!h) throw new HarnessFailedError(`device ${this.ctx.device.id} is an iOS device but no iOS harness app is configured (platformHarnesses.ios)`);
    return h;
  }

  private container(p: string): string {
    return `@${this.app().bundleId}:documents/${p}`;
  }

  async ensureHarness(b: Browser): Promise<void> {
    const app = this.app();
    if (this.installedVersion === app.version) return;
    // Installed once per session: installApp replaces an older build of the same bundle id.
    await b.installApp(app.appPath);
    this.installedVersion = app.version;
  }

  private async pushVerified(b: Browser, data: Buffer, rel: string): Promise<void> {
    await b.pushFile(this.container(rel), data.toString('base64'));
    const back = Buffer.from(await b.pullFile(this.container(rel)), 'base64');
    if (sha(back) !== sha(data)) throw new TransferError(`${rel} on ${this.ctx.device.id}: pushed sha256 ${sha(data)}, read back ${sha(back)}`);
  }

  async ensureModel(b: Browser, artifactPath: string, sha256: string, format: string): Promise<string> {
    const rel = `models/${sha256}.${format}`;
    if (this.verified.has(sha256)) return rel;
    let have: string | undefined;
    try {
      have = sha(Buffer.from(await b.pullFile(this.container(rel)), 'base64'));
    } catch {
      /* not there yet */
    }
    if (have !== sha256) await this.pushVerified(b, await readFile(artifactPath), rel);
    this.verified.add(sha256);
    // The app resolves relative paths against its Documents directory.
    return rel;
  }

  async info(b: Browser): Promise<DeviceInfo> {
    const i = (await b.execute('mobile: deviceInfo', {})) as Record<string, unknown>;
    const caps = b.capabilities as Record<string, unknown>;
    return {
      arch: 'arm64',
      cpuModel: String(i.model ?? 'Apple'),
      cores: Number(i.processorCount ?? 0),
      memoryBytes: Number(i.physicalMemory ?? 0),
      os: 'iOS',
      osVersion: String(caps.platformVersion ?? i.platformVersion ?? ''),
      deviceModel: String(i.model ?? i.name ?? 'iPhone'),
      backends: ((caps['pocketbench:backends'] as Backend[] | undefined) ?? ['cpu', 'coreml']) as Backend[],
      isSimulator: i.isSimulator,
    };
  }

  async state(b: Browser): Promise<DeviceStateSnapshot> {
    const battery = (await b.execute('mobile: batteryInfo', {})) as { level?: number; state?: number };
    const info = (await b.execute('mobile: deviceInfo', {})) as { thermalState?: number };
    const s: DeviceStateSnapshot = { takenAt: new Date().toISOString(), thermalZones: {}, cpuFreqKhz: [], loadAvg: [0, 0, 0] };
    if (typeof battery.level === 'number' && battery.level >= 0) s.batteryPct = Math.round(battery.level * 100);
    if (typeof info.thermalState === 'number') s.thermalState = THERMAL[info.thermalState] ?? String(info.thermalState);
    return s;
  }

  async runHarness(b: Browser, specJson: string, runLabel: string, budgetSec: number): Promise<string> {
    const app = this.app();
    const dir = `runs/${runLabel}`;
    await this.pushVerified(b, Buffer.from(specJson), `${dir}/spec.json`);
    await b.execute('mobile: launchApp', {
      bundleId: app.bundleId,
      arguments: ['run', '--spec', `${dir}/spec.json`, '--out', `${dir}/report.json`],
    });
    const deadline = Date.now() + budgetSec * 1000;
    try {
      for (;;) {
        try {
          return Buffer.from(await b.pullFile(this.container(`${dir}/report.json`)), 'base64').toString('utf8');
        } catch {
          if (Date.now() > deadline) throw new HarnessTimeoutError(`the iOS harness wrote no report within ${budgetSec} s`);
          await new Promise((r) => setTimeout(r, this.pollMs));
        }
      }
    } finally {
      await b.execute('mobile: terminateApp', { bundleId: app.bundleId }).catch(() => undefined);
    }
  }
}
