import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { remote } from 'webdriverio';
import { validateBenchReport, type BenchReport, type BenchSpec } from '@pocketbench/contracts';
import type { Browser, DeviceAdapter } from './device-adapter.js';
import type { DeviceConfig, DeviceInfo, DeviceSession, DeviceStateSnapshot } from './device-session.js';
import { classifyDeviceError, DeviceUnavailableError, isSessionLost, ReportInvalidError } from './errors.js';

export interface WebDriverSessionOptions {
  appiumUrl: string;
  /** Pulled reports are kept under `<cacheDir>/reports/<deviceId>/`. */
  cacheDir: string;
  logger: Logger;
  /** Extra seconds past the spec's time budget before the driver kills the harness. @defaultValue 60 */
  killGraceSec?: number;
}

/** Pulled reports kept per device under `<cacheDir>/reports/<deviceId>/`. */
const KEEP_REPORTS = 200;

/**
 * DeviceSession over one WebDriver session with Appium, kept across jobs: created on first
 * use, re-created when Appium or the session is lost, closed on close().
 */
export class WebDriverDeviceSession implements DeviceSession {
  private browser?: Browser;
  private closed = false;
  private readonly log: Logger;
  /** The state the last report recorded at its end, and when (this host's clock) it was pulled. */
  private lastAfter?: { state: DeviceStateSnapshot; pulledAt: number };

  constructor(
    readonly device: DeviceConfig,
    private readonly adapter: DeviceAdapter,
    private readonly opts: WebDriverSessionOptions,
  ) {
    this.log = 'deviceId' in opts.logger.bindings() ? opts.logger : opts.logger.child({ deviceId: device.id });
  }

  /** Opens the WebDriver session now (a device that cannot start one fails here, not in a job). */
  async connect(): Promise<void> {
    await this.current();
  }

  private async create(): Promise<Browser> {
    if (this.closed) throw new DeviceUnavailableError(`device session ${this.device.id} is closed`);
    const u = new URL(this.opts.appiumUrl);
    try {
      const b = await remote({
        protocol: u.protocol.replace(':', '') as 'http' | 'https',
        hostname: u.hostname,
        port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
        path: u.pathname || '/',
        logLevel: 'silent',
        // One attempt per command: a retried runHarness would run the harness twice.
        connectionRetryCount: 0,
        // Commands such as runHarness last as long as a benchmark session.
        connectionRetryTimeout: 6 * 3600_000,
        capabilities: this.adapter.capabilities() as WebdriverIO.Capabilities,
      });
      this.log.info({ sessionId: b.sessionId }, 'device session created');
      return b;
    } catch (err) {
      throw classifyDeviceError(err, `starting a session on ${this.device.id} at ${this.opts.appiumUrl}`);
    }
  }

  private async current(): Promise<Browser> {
    if (!this.browser) this.browser = await this.create();
    return this.browser;
  }

  /**
   * Runs a first step of a job on the kept session; when that session turns out to be gone
   * (Appium restarted, idle timeout) it is re-created once and the step retried.
   */
  private async first<T>(what: string, fn: (b: Browser) => Promise<T>): Promise<{ b: Browser; value: T }> {
    const existed = this.browser !== undefined;
    const b = await this.current();
    try {
      return { b, value: await fn(b) };
    } catch (err) {
      if (!existed || !isSessionLost(err)) {
        if (isSessionLost(err)) await this.drop();
        throw classifyDeviceError(err, `${what} on ${this.device.id}`);
      }
      this.log.warn({ err: (err as Error).message }, 'device session lost; re-creating it');
      await this.drop();
      const fresh = await this.current();
      return { b: fresh, value: await this.step(what, fn, fresh) };
    }
  }

  /** Runs one step; a failure drops the session when it was the session's fault. */
  private async step<T>(what: string, fn: (b: Browser) => Promise<T>, b: Browser): Promise<T> {
    try {
      return await fn(b);
    } catch (err) {
      if (isSessionLost(err)) await this.drop();
      throw classifyDeviceError(err, `${what} on ${this.device.id}`);
    }
  }

  private async drop(): Promise<void> {
    const b = this.browser;
    this.browser = undefined;
    this.lastAfter = undefined;
    this.adapter.reset();
    if (b) await b.deleteSession().catch(() => undefined);
  }

  async info(): Promise<DeviceInfo> {
    return (await this.first('reading the device info', (x) => this.adapter.info(x))).value;
  }

  async state(): Promise<DeviceStateSnapshot> {
    return (await this.first('reading the device state', (x) => this.adapter.state(x))).value;
  }

  async runHarness(spec: BenchSpec): Promise<BenchReport> {
    const { path: hostPath, sha256, format } = spec.artifact;
    // Both idempotent, so a session found stale here is re-created and they are redone.
    const { b, value: devicePath } = await this.first('installing the harness and the model', async (x) => {
      await this.adapter.ensureHarness(x);
      return await this.adapter.ensureModel(x, hostPath, sha256, format);
    });
    let deviceSpec: BenchSpec = { ...spec, artifact: { ...spec.artifact, path: devicePath } };
    if (spec.fidelity) {
      // The eval set and the reference's outputs travel like a model: pushed once, cached by hash.
      const f = spec.fidelity;
      const push = (file: { path: string; sha256: string }, ext: string) =>
        this.step('pushing fidelity data', (x) => this.adapter.ensureModel(x, file.path, file.sha256, ext), b);
      deviceSpec = {
        ...deviceSpec,
        fidelity: {
          ...f,
          ...(f.evalSet ? { evalSet: { ...f.evalSet, path: await push(f.evalSet, 'npz') } } : {}),
          ...(f.reference ? { reference: { ...f.reference, path: await push(f.reference, 'f32') } } : {}),
        },
      };
    }
    // No state probe of our own here: the harness records the device's state before and after.
    const label = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const started = Date.now();
    const text = await this.step(
      'running the harness',
      (x) => this.adapter.runHarness(x, JSON.stringify(deviceSpec), label, spec.timeBudgetSec + (this.opts.killGraceSec ?? 60)),
      b,
    );
    await this.keepReport(label, text);

    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ReportInvalidError(`the report from ${this.device.id} is not JSON: ${(err as Error).message}`);
    }
    const checked = validateBenchReport(doc);
    if (!checked.ok) throw new ReportInvalidError(`the report from ${this.device.id} is not a BenchReport: ${checked.errors.join('; ')}`);
    this.log.info({ status: checked.value.status, ms: Date.now() - started }, 'harness report pulled and valid');
    const after = checked.value.device?.after;
    this.lastAfter = after ? { state: { ...after, governor: after.governor ?? undefined }, pulledAt: Date.now() } : undefined;
    return checked.value;
  }

  recentState(maxAgeMs: number): DeviceStateSnapshot | undefined {
    return this.lastAfter && Date.now() - this.lastAfter.pulledAt <= maxAgeMs ? this.lastAfter.state : undefined;
  }

  /** Keeps the newest reports as pulled (labels sort by time), for looking into a device's recent runs. */
  private async keepReport(label: string, text: string): Promise<void> {
    const dir = path.join(this.opts.cacheDir, 'reports', this.device.id);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, `${label}.json`), text);
      const all = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
      for (const old of all.slice(0, Math.max(0, all.length - KEEP_REPORTS))) await rm(path.join(dir, old), { force: true });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not keep the report');
    }
  }

  /** Closes the WebDriver session; idempotent, never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }
}
