import path from 'node:path';
import type { ConnectionOptions, Job } from 'bullmq';
import type { Logger } from 'pino';
import type { SessionJobData, SessionJobResult } from '@pocketbench/contracts';
import { createPool, markSilentDevicesOffline, ping, type Pool } from '@pocketbench/db';
import { ArtifactCache } from './artifact-cache.js';
import type { WorkerConfig } from './config.js';
import { hostDeviceNativeArch, loadDeviceLayer, nativeHarnessArch, type AppiumServerHandle, type DeviceLayer, type HarnessBundle, type NativeArch } from './device-layer.js';
import type { DeviceConfig } from './devices/device-session.js';
import { DeviceWorker } from './device-worker.js';
import { ReportSpool } from './report-spool.js';
import type { HeldSession } from './session/session-deps.js';
import { ReferenceOutputs } from './session/reference-outputs.js';
import { ConversionWorker } from './conversion/conversion-worker.js';
import { detectConverter } from './conversion/converter.js';
import { RunEvents } from './run-events.js';

export interface WorkerHostOptions {
  config: WorkerConfig;
  logger: Logger;
  /** @defaultValue the real device layer (services/worker/src/devices) and harness bundle */
  deviceLayer?: DeviceLayer;
  /** Devices to serve; discovered on this host when omitted. */
  devices?: DeviceConfig[];
  /** An existing pg pool (tests, `pocketbench up`); created from DATABASE_URL otherwise. */
  db?: Pool;
  /** BullMQ key prefix. @defaultValue config.queuePrefix (the api uses the same for both) */
  bullPrefix?: string;
  onHarnessStart?(sessionJob: Job<SessionJobData, SessionJobResult>): void;
}

function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers block on Redis; a retry limit would turn a Redis hiccup into a crash.
    maxRetriesPerRequest: null,
  };
}

/**
 * A worker host: its Appium server, the harness bundle, one DeviceWorker per device, and the
 * reaper that marks silent devices offline. `close()` is idempotent and runs every step.
 */
export class WorkerHost {
  readonly devices: DeviceWorker[] = [];
  /** This host's conversion consumer, when it has the converter (python3-torch). */
  converter?: ConversionWorker;
  private appium?: AppiumServerHandle;
  private db?: Pool;
  private ownPool = false;
  private reaper?: NodeJS.Timeout;
  private events?: RunEvents;
  private closing?: Promise<void>;

  constructor(private readonly opts: WorkerHostOptions) {}

  get appiumUrl(): string | undefined {
    return this.appium?.url;
  }

  get appiumServer(): AppiumServerHandle | undefined {
    return this.appium;
  }

  get dbPool(): Pool {
    if (!this.db) throw new Error('worker host not started');
    return this.db;
  }

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    const layer = this.opts.deviceLayer ?? (await loadDeviceLayer());
    this.db = this.opts.db;
    if (!this.db) {
      // A restarting Postgres drops idle connections: replaced on the next query, never a crash.
      this.db = createPool(config.databaseUrl, {
        max: 4,
        onError: (err) => logger.warn({ err: err.message }, 'postgres connection lost; reconnecting on the next query'),
      });
      this.ownPool = true;
    }
    try {
      await ping(this.db);
    } catch (err) {
      throw new Error(`cannot reach Postgres at DATABASE_URL: ${(err as Error).message}`);
    }
    const harnessBundle: HarnessBundle = await layer.ensureHarnessBundle({ dataDir: config.dataDir });
    logger.info({ harnessVersion: harnessBundle.version }, 'harness bundle ready');
    let devices = this.opts.devices ?? (await layer.discoverLocalDevices({ dataDir: config.dataDir, hostname: config.hostName }));
    if (config.deviceFilter) {
      const wanted = new Set(config.deviceFilter);
      devices = devices.filter((d) => wanted.has(d.id) || wanted.has(d.pool));
    }
    if (devices.length === 0) throw new Error('no devices to serve on this host (check POCKETBENCH_WORKER_DEVICES)');
    if (config.deviceProject) devices = devices.map((d) => ({ ...d, project: config.deviceProject }));

    // Our Appium server lets sessions use only the host directories this worker configured:
    // its data dir and those its devices name (work dirs, root fs, keys).
    const hostPaths = devices.flatMap((d) => {
      const keys = d.capabilities['pocketbench:target'] === 'ssh'
        ? ['pocketbench:keyPath', 'pocketbench:knownHostsFile'] // an ssh board's work dir is on the board
        : ['pocketbench:workDir', 'pocketbench:rootfs'];
      return keys.map((k) => d.capabilities[k]).filter((p): p is string => typeof p === 'string' && path.isAbsolute(p));
    });
    const deviceRoots = [...new Set([config.dataDir, ...hostPaths.map((p) => path.dirname(p))])];
    this.appium = config.appiumUrl
      ? { url: config.appiumUrl, stop: async () => undefined }
      : await layer.startAppiumServer({ appiumHome: path.join(config.dataDir, 'appium'), logger, deviceRoots });
    logger.info({ appiumUrl: this.appium.url, own: !config.appiumUrl }, 'appium server ready');
    // Finished reports the database has not taken yet, kept on this host's disk across restarts.
    const spool = new ReportSpool<HeldSession>(path.join(config.cacheDir, 'spool'), logger);
    await spool.open();
    const cache = new ArtifactCache({ dir: path.join(config.cacheDir, 'artifacts'), apiUrl: config.apiUrl, apiToken: config.apiToken });
    const connection = redisConnection(config.redisUrl);
    const referenceOutputs = new ReferenceOutputs({ dir: path.join(config.cacheDir, 'fidelity'), harness: config.hostHarness });
    const events = (this.events = new RunEvents({ connection, queuePrefix: config.queuePrefix, bullPrefix: this.opts.bullPrefix ?? config.queuePrefix }, logger));
    await this.startConverter(cache, connection);
    const failures: string[] = [];
    // Native bundles are built (or found in the cache) once per architecture, only when a device needs one.
    const nativeBundles = new Map<NativeArch, Promise<HarnessBundle>>();
    const nativeBundle = (arch: NativeArch): Promise<HarnessBundle> => {
      if (!layer.ensureNativeHarnessBundle) return Promise.reject(new Error(`this device layer cannot build the native ${arch} harness`));
      let p = nativeBundles.get(arch);
      if (!p) {
        p = layer.ensureNativeHarnessBundle({ dataDir: config.dataDir, arch });
        nativeBundles.set(arch, p);
      }
      return p;
    };
    // Whether a native bundle is already built, asked once per architecture; one found is the one used.
    const foundNative = new Map<NativeArch, Promise<HarnessBundle | undefined>>();
    const findNative = (arch: NativeArch): Promise<HarnessBundle | undefined> => {
      let p = foundNative.get(arch);
      if (!p) {
        p = (layer.findNativeHarnessBundle?.({ dataDir: config.dataDir, arch }) ?? Promise.resolve(undefined)).then((found) => {
          if (found && !nativeBundles.has(arch)) nativeBundles.set(arch, Promise.resolve(found));
          return found;
        });
        foundNative.set(arch, p);
      }
      return p;
    };
    for (const device of devices) {
      const arch = nativeHarnessArch(device) ?? (await hostDeviceNativeArch(device, config.hostDeviceHarness, findNative));
      let deviceBundle = harnessBundle;
      let platformHarnesses: { android?: HarnessBundle } | undefined;
      if (arch) {
        try {
          const native = await nativeBundle(arch);
          // A phone gets it as its Android harness; a Linux target installs it like the Node bundle.
          if (device.platform === 'android') platformHarnesses = { android: native };
          else deviceBundle = native;
          logger.info({ deviceId: device.id, harnessVersion: native.version, arch }, 'native harness bundle ready');
        } catch (err) {
          failures.push(`${device.id}: ${(err as Error).message}`);
          logger.error({ deviceId: device.id, err: (err as Error).message }, 'the native harness bundle could not be built; not serving this device');
          continue;
        }
      }
      const dw = new DeviceWorker({
        device,
        db: this.db,
        cache,
        connection,
        queuePrefix: config.queuePrefix,
        bullPrefix: this.opts.bullPrefix ?? config.queuePrefix,
        hostName: config.hostName,
        openSession: () =>
          layer.openDeviceSession(device, {
            appiumUrl: this.appium!.url,
            harnessBundle: deviceBundle,
            // The native bundle reads no eval sets yet; those fidelity passes go to the Node harness.
            nodeHarnessBundle: deviceBundle === harnessBundle ? undefined : harnessBundle,
            platformHarnesses,
            cacheDir: path.join(config.cacheDir, 'devices'),
            logger: logger.child({ deviceId: device.id }),
          }),
        logger,
        heartbeatMs: config.heartbeatMs,
        heartbeatTtlMs: config.heartbeatTtlMs,
        policy: config.session,
        spool,
        referenceOutputs,
        publishRunFinished: (runId) => events.runFinished(runId),
        shutdownGraceMs: config.shutdownGraceMs,
        jobLockMs: config.jobLockMs,
        storeGiveUpMs: config.storeGiveUpMs,
        onHarnessStart: this.opts.onHarnessStart,
        waitForAppium: (ms) => this.waitForAppium(ms),
      });
      try {
        await dw.start();
        this.devices.push(dw);
      } catch (err) {
        // One unreachable device must not keep the host's other devices from working.
        failures.push(`${device.id}: ${(err as Error).message}`);
        logger.error({ deviceId: device.id, err: (err as Error).message }, 'device could not be started; not serving it');
        await dw.close().catch(() => undefined);
      }
    }
    if (this.devices.length === 0) throw new Error(`no device could be started: ${failures.join('; ')}`);
    this.reaper = setInterval(() => void this.reap(), config.reaperMs);
    this.reaper.unref();
  }

  /** Consumes conversion jobs when this host can convert (POCKETBENCH_CONVERTER, python3-torch found). */
  private async startConverter(cache: ArtifactCache, connection: ConnectionOptions): Promise<void> {
    const { config, logger } = this.opts;
    if (config.converter === 'off') return;
    const found = await detectConverter(config.python);
    if ('unavailable' in found) {
      if (config.converter === 'on') throw new Error(`POCKETBENCH_CONVERTER=on but ${found.unavailable}`);
      logger.info({ reason: found.unavailable }, 'no converter on this host: conversion jobs are left to other hosts');
      return;
    }
    this.converter = new ConversionWorker({
      converter: found,
      db: this.db!,
      cache,
      connection,
      queuePrefix: config.queuePrefix,
      bullPrefix: this.opts.bullPrefix ?? config.queuePrefix,
      hostName: config.hostName,
      apiUrl: config.apiUrl,
      apiToken: config.apiToken,
      workDir: path.join(config.cacheDir, 'conversions'),
      timeoutMs: config.conversionTimeoutMs,
      logger,
    });
    await this.converter.start();
  }

  /** Polls Appium's /status until it answers or `ms` pass; `ms` 0 asks once. */
  async waitForAppium(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        const res = await fetch(new URL('status', this.appium!.url.replace(/\/?$/, '/')), { signal: AbortSignal.timeout(2000) });
        if (res.ok) return true;
      } catch {
        /* down */
      }
      if (Date.now() >= deadline || this.closing) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async reap(): Promise<void> {
    try {
      const ids = await markSilentDevicesOffline(this.db!);
      if (ids.length) this.opts.logger.warn({ deviceIds: ids }, 'devices silent past their heartbeat TTL marked offline');
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'reaper pass failed');
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      if (this.reaper) clearInterval(this.reaper);
      try {
        await this.converter?.close();
      } catch (err) {
        errors.push(err);
      }
      for (const r of await Promise.allSettled(this.devices.map((d) => d.close()))) if (r.status === 'rejected') errors.push(r.reason);
      await this.events?.close().catch((err) => errors.push(err));
      try {
        await this.appium?.stop();
      } catch (err) {
        errors.push(err);
      }
      if (this.ownPool) await this.db?.end().catch((err) => errors.push(err));
      if (errors.length) throw errors[0];
    })();
    return this.closing;
  }
}
