import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Backend } from '@pocketbench/contracts';
import type { AdapterContext, Browser, DeviceAdapter } from './device-adapter.js';
import type { DeviceInfo, DeviceStateSnapshot } from './device-session.js';
import { HarnessFailedError, HarnessTimeoutError, TransferError, w3cErrorCode } from './errors.js';

interface RunHarnessResult {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  reportPath: string;
  reportWritten: boolean;
  stderrTail: string;
}

/** What `mobile: pushFile` answers: the sha256 on the target is null when the bytes did not land intact (nothing is left). */
interface PushFileResult {
  path: string;
  sha256: string | null;
  receivedSha256: string;
}

/** Linux targets through our Appium driver (device-agents/appium-linux-driver). */
export class LinuxAdapter implements DeviceAdapter {
  private installedVersion?: string;
  constructor(private readonly ctx: AdapterContext) {}

  reset(): void {
    this.installedVersion = undefined;
    this.nodeInstalled = undefined;
  }

  capabilities(): Record<string, unknown> {
    return {
      platformName: 'Linux',
      'appium:automationName': 'PocketbenchLinux',
      // Sessions are kept between jobs; an idle one expires after an hour and is re-created.
      'appium:newCommandTimeout': 3600,
      ...this.ctx.device.capabilities,
    };
  }

  async ensureHarness(b: Browser): Promise<void> {
    if (this.installedVersion === this.ctx.harness.version) return;
    // The driver copies the bundle once per version and no-ops afterwards.
    await b.installApp(this.ctx.harness.dir);
    this.installedVersion = this.ctx.harness.version;
  }

  async ensureModel(b: Browser, artifactPath: string, sha256: string, format: string): Promise<string> {
    const rel = `models/${sha256}.${format}`;
    const have = (await b.execute('mobile: fileHash', { path: rel })) as { path: string; sha256: string | null };
    if (have.sha256 === sha256) return have.path;
    const data = await readFile(artifactPath);
    const pushed = (await b.execute('mobile: pushFile', { path: rel, data: data.toString('base64'), sha256 })) as PushFileResult;
    if (pushed.sha256 !== sha256) {
      throw new TransferError(`model ${rel}: the driver received sha256 ${pushed.receivedSha256}, the device holds ${pushed.sha256 ?? 'nothing'}; expected ${sha256}`);
    }
    this.ctx.log.info({ sha256, bytes: data.length }, 'model pushed to the device');
    return pushed.path;
  }

  /** Installs the harness first: the backends a device offers are what its harness's probe finds. */
  async info(b: Browser): Promise<DeviceInfo> {
    await this.ensureHarness(b);
    const i = (await b.execute('mobile: deviceInfo', { harnessVersion: this.installedVersion })) as Record<string, unknown>;
    return { ...i, backends: (i.backends as Backend[]) ?? [] } as DeviceInfo;
  }

  async state(b: Browser): Promise<DeviceStateSnapshot> {
    return (await b.execute('mobile: deviceState', {})) as DeviceStateSnapshot;
  }

  private nodeInstalled?: string;

  /**
   * The bundle that runs this spec: the device's own, except for an eval-set pass when that is
   * native (it reads no .npz yet), which goes to the Node harness. Agreement with a reference on
   * seeded inputs, the pass every multi-variant run has, runs natively.
   */
  private async bundleFor(b: Browser, specJson: string): Promise<string> {
    const node = this.ctx.nodeHarness;
    if (!node || !(JSON.parse(specJson) as { fidelity?: { evalSet?: unknown } }).fidelity?.evalSet) return this.ctx.harness.version;
    if (this.nodeInstalled !== node.version) {
      await b.installApp(node.dir);
      this.nodeInstalled = node.version;
    }
    return node.version;
  }

  async runHarness(b: Browser, specJson: string, runLabel: string, budgetSec: number): Promise<string> {
    const version = await this.bundleFor(b, specJson);
    const dir = `runs/${runLabel}`;
    const spec = (await b.execute('mobile: pushFile', { path: `${dir}/spec.json`, data: Buffer.from(specJson).toString('base64') })) as { path: string };
    try {
      const r = (await b
        .execute('mobile: runHarness', { version, specPath: spec.path, reportPath: `${dir}/report.json`, timeoutSec: budgetSec })
        .catch((err: Error) => {
          // The driver kills a harness past its backstop and answers with the W3C timeout code.
          if (w3cErrorCode(err) === 'timeout') throw new HarnessTimeoutError(`the harness ran past ${budgetSec} s and was killed: ${err.message}`, { cause: err });
          throw err;
        })) as RunHarnessResult;
      if (!r.reportWritten) {
        throw new HarnessFailedError(`the harness wrote no report (exit ${r.exitCode ?? r.signal}): ${r.stderrTail.trim().slice(-800)}`);
      }
      return Buffer.from(await b.pullFile(r.reportPath), 'base64').toString('utf8');
    } finally {
      // Runs are not kept on the device; the worker keeps the reports.
      await b.execute('mobile: removeFile', { path: path.dirname(spec.path) }).catch(() => undefined);
    }
  }
}
