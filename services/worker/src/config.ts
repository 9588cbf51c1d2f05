import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig as loadHarnessConfig, type HarnessConfig } from '@pocketbench/harness';

/**
 * How a device worker runs and judges each session, from the environment (defaults here only).
 */
export interface SessionPolicy {
  /** Consecutive failed sessions that quarantine a device (`POCKETBENCH_QUARANTINE_AFTER`). @defaultValue 3 */
  quarantineAfter: number;
  /** Session CV cap for hygiene (`POCKETBENCH_CV_CAP`, robust CV). @defaultValue 0.10 */
  cvCap: number;
  /** Largest drift between a session's first and last thirds (`POCKETBENCH_DRIFT_CAP`). @defaultValue 0.10 */
  driftCap: number;
  /** Hottest thermal zone (°C) above which a session first waits for the device to cool (`POCKETBENCH_TEMP_CEILING_C`). @defaultValue 45 */
  tempCeilingC: number;
  /** How often a hot device's temperature is read again (`POCKETBENCH_COOLDOWN_POLL_MS`). @defaultValue 10000 */
  cooldownPollMs: number;
  /** Longest cooldown before the session runs anyway, marked `unstable` (`POCKETBENCH_COOLDOWN_MAX_MS`). @defaultValue 300000 */
  cooldownMaxMs: number;
}

/** Everything the worker reads from its environment, parsed once at start. */
export interface WorkerConfig {
  /** Where artifacts are downloaded from (`POCKETBENCH_URL`). @defaultValue 'http://127.0.0.1:8080' */
  apiUrl: string;
  /**
   * Bearer token for artifact downloads: a worker token (`POCKETBENCH_WORKER_TOKEN`; falls back
   * to `POCKETBENCH_TOKEN`). Unset: the api must run in open local mode on this machine.
   */
  apiToken?: string;
  /** The project owning this host's devices (`POCKETBENCH_DEVICE_PROJECT`); unset: shared farm devices. */
  deviceProject?: string;
  /** `DATABASE_URL` (required: results are written to Postgres). */
  databaseUrl: string;
  /** @defaultValue 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** Queue name prefix shared with the api (`POCKETBENCH_QUEUE_PREFIX`). @defaultValue 'pocketbench' */
  queuePrefix: string;
  /** @defaultValue '<cwd>/.pocketbench' */
  dataDir: string;
  /** The harness on this host itself, which computes fidelity reference outputs (its own environment variables). */
  hostHarness: HarnessConfig;
  /**
   * Which harness this machine's own device (the local target) runs (`POCKETBENCH_HOST_DEVICE_HARNESS`):
   * `auto` the native bundle when it is already built for the current sources (no build at start),
   * else the Node harness; `native` the native bundle, built if needed; `node` the Node harness.
   * Fidelity passes run on the Node harness either way. @defaultValue 'auto'
   */
  hostDeviceHarness: 'auto' | 'native' | 'node';
  /** Host-side caches: artifacts by hash, pulled reports (`POCKETBENCH_WORKER_CACHE_DIR`). @defaultValue '<dataDir>/worker-cache' */
  cacheDir: string;
  /** Use this Appium server instead of starting one (`APPIUM_URL`). */
  appiumUrl?: string;
  /** Only these device ids or pools (`POCKETBENCH_WORKER_DEVICES`, comma-separated); all discovered when unset. */
  deviceFilter?: string[];
  /** This worker host's name, stored on each device. @defaultValue os.hostname() */
  hostName: string;
  /** @defaultValue 5000 */
  heartbeatMs: number;
  /** Silence after which the reaper marks a device offline. @defaultValue 1.5 × heartbeatMs */
  heartbeatTtlMs: number;
  /** How often the reaper looks. @defaultValue heartbeatMs / 4 */
  reaperMs: number;
  /** How each session is run and judged: hygiene caps, cooldown, quarantine. */
  session: SessionPolicy;
  /** How long shutdown waits for the job in hand before handing it back. @defaultValue 60000 */
  shutdownGraceMs: number;
  /**
   * BullMQ lock of the job in hand (`POCKETBENCH_JOB_LOCK_MS`), renewed while the worker lives: a
   * worker killed or cut off mid-session has its job run elsewhere within about 1.5 × this.
   * @defaultValue 30000
   */
  jobLockMs: number;
  /**
   * How long storing a finished session may fail for a reason other than a database outage
   * (`POCKETBENCH_STORE_GIVE_UP_MS`) before its cell is failed with the reason; an outage is
   * waited out without limit. @defaultValue 120000
   */
  storeGiveUpMs: number;
  /**
   * Conversion jobs (`POCKETBENCH_CONVERTER`): `auto` consumes them when `python` has torch,
   * `on` requires it (start fails without), `off` never. @defaultValue 'auto'
   */
  converter: 'auto' | 'on' | 'off';
  /** Interpreter with python3-torch for conversions (`POCKETBENCH_PYTHON`). @defaultValue '/usr/bin/python3' (Debian's) when present, else 'python3' */
  python: string;
  /** Longest conversion before it counts as the model's fault (`POCKETBENCH_CONVERSION_TIMEOUT_MS`). @defaultValue 600000 */
  conversionTimeoutMs: number;
  /** @defaultValue 'info' */
  logLevel: string;
  /**
   * Started by `pocketbench up` / `worker` (`POCKETBENCH_SUPERVISED=1`): SIGINT from the terminal is
   * left to the supervisor, which sends SIGTERM once. @defaultValue false
   */
  supervised: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback?: string): string | undefined {
  const raw = env[name] || fallback;
  if (raw === undefined) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

function token(env: NodeJS.ProcessEnv): string | undefined {
  for (const name of ['POCKETBENCH_WORKER_TOKEN', 'POCKETBENCH_TOKEN']) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (raw.trim() === '') throw new ConfigError(`${name} is only whitespace: set the worker token or leave the variable empty`);
    return raw.trim();
  }
  return undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const databaseUrl = url(env, 'DATABASE_URL');
  if (!databaseUrl) throw new ConfigError('DATABASE_URL is not set; the worker stores results in Postgres');
  const heartbeatMs = int(env, 'POCKETBENCH_HEARTBEAT_MS', 5000, 50);
  const cvRaw = env.POCKETBENCH_CV_CAP;
  const cvCap = cvRaw ? Number(cvRaw) : 0.1;
  if (!(cvCap > 0)) throw new ConfigError(`POCKETBENCH_CV_CAP must be a positive number, got "${cvRaw}"`);
  const dataDir = path.resolve(env.POCKETBENCH_DATA_DIR || '.pocketbench');
  const driftRaw = env.POCKETBENCH_DRIFT_CAP;
  const driftCap = driftRaw ? Number(driftRaw) : 0.1;
  if (!(driftCap > 0)) throw new ConfigError(`POCKETBENCH_DRIFT_CAP must be a positive number, got "${driftRaw}"`);
  const ceilRaw = env.POCKETBENCH_TEMP_CEILING_C;
  const tempCeilingC = ceilRaw ? Number(ceilRaw) : 45;
  if (!Number.isFinite(tempCeilingC) || tempCeilingC <= 0) throw new ConfigError(`POCKETBENCH_TEMP_CEILING_C must be a positive number (°C), got "${ceilRaw}"`);
  const converter = (env.POCKETBENCH_CONVERTER || 'auto').trim();
  if (!['auto', 'on', 'off'].includes(converter)) throw new ConfigError(`POCKETBENCH_CONVERTER must be auto, on or off, got "${converter}"`);
  const hostDeviceHarness = (env.POCKETBENCH_HOST_DEVICE_HARNESS || 'auto').trim();
  if (!['auto', 'native', 'node'].includes(hostDeviceHarness)) throw new ConfigError(`POCKETBENCH_HOST_DEVICE_HARNESS must be auto, native or node, got "${hostDeviceHarness}"`);
  const filter = env.POCKETBENCH_WORKER_DEVICES?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    apiUrl: url(env, 'POCKETBENCH_URL', 'http://127.0.0.1:8080')!,
    apiToken: token(env),
    deviceProject: env.POCKETBENCH_DEVICE_PROJECT?.trim() || undefined,
    databaseUrl,
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379')!,
    queuePrefix: env.POCKETBENCH_QUEUE_PREFIX || 'pocketbench',
    dataDir,
    cacheDir: path.resolve(env.POCKETBENCH_WORKER_CACHE_DIR || path.join(dataDir, 'worker-cache')),
    hostHarness: loadHarnessConfig(env),
    hostDeviceHarness: hostDeviceHarness as WorkerConfig['hostDeviceHarness'],
    appiumUrl: url(env, 'APPIUM_URL'),
    deviceFilter: filter?.length ? filter : undefined,
    hostName: env.POCKETBENCH_HOST_NAME || os.hostname(),
    heartbeatMs,
    heartbeatTtlMs: int(env, 'POCKETBENCH_HEARTBEAT_TTL_MS', Math.round(heartbeatMs * 1.5), 50),
    reaperMs: int(env, 'POCKETBENCH_REAPER_MS', Math.max(25, Math.round(heartbeatMs / 4)), 10),
    session: {
      quarantineAfter: int(env, 'POCKETBENCH_QUARANTINE_AFTER', 3),
      cvCap,
      driftCap,
      tempCeilingC,
      cooldownPollMs: int(env, 'POCKETBENCH_COOLDOWN_POLL_MS', 10_000, 10),
      cooldownMaxMs: int(env, 'POCKETBENCH_COOLDOWN_MAX_MS', 300_000, 0),
    },
    shutdownGraceMs: int(env, 'POCKETBENCH_SHUTDOWN_GRACE_MS', 60_000, 0),
    jobLockMs: int(env, 'POCKETBENCH_JOB_LOCK_MS', 30_000, 1000),
    storeGiveUpMs: int(env, 'POCKETBENCH_STORE_GIVE_UP_MS', 120_000, 0),
    converter: converter as WorkerConfig['converter'],
    // Debian's interpreter has python3-torch; a pyenv `python3` first on PATH may not.
    python: env.POCKETBENCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'),
    conversionTimeoutMs: int(env, 'POCKETBENCH_CONVERSION_TIMEOUT_MS', 600_000, 1000),
    logLevel: env.LOG_LEVEL || 'info',
    supervised: env.POCKETBENCH_SUPERVISED === '1',
  };
}
