import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The api's settings, parsed once from the environment by `loadConfig`. */
export interface ApiConfig {
  /** `PORT`. 0 picks a free port (tests). @defaultValue 8080 */
  port: number;
  /** `HOST`: the address to bind. Anything but loopback needs `POCKETBENCH_TOKEN`. @defaultValue '127.0.0.1' */
  host: string;
  /**
   * Open local mode: no admin token is configured, so requests without a token act as admin.
   * Decided here once (only possible on loopback); tokens issued or revoked later never change it.
   */
  openMode: boolean;
  /**
   * `POCKETBENCH_ALLOWED_HOSTS` (comma-separated host names, `*` for any): requests whose Host
   * header names another host are refused (DNS rebinding).
   * @defaultValue loopback names when bound to loopback; any host otherwise
   */
  allowedHosts: string[] | '*';
  /** What one project may ask of the farm; each refusal is a 4xx naming the limit. */
  limits: ApiLimits;
  /** `DATABASE_URL`. Unset: the caller (`pocketbench up`) provides an embedded Postgres. */
  databaseUrl?: string;
  /** `REDIS_URL`. Unset: the caller provides a local redis-server. */
  redisUrl?: string;
  /** `POCKETBENCH_DATA_DIR`; artifacts live under `<dataDir>/artifacts`. @defaultValue '<repo>/.pocketbench' */
  dataDir: string;
  /** `POCKETBENCH_TOKEN`: the admin bearer token. Unset: open local mode (loopback only). */
  adminToken?: string;
  /** `POCKETBENCH_MAX_UPLOAD_MB`, stored in bytes. @defaultValue 512 MB */
  maxUploadBytes: number;
  /** `POCKETBENCH_MAX_EVAL_SET_MB`: largest eval set upload, in bytes (it is read whole to validate). @defaultValue 64 MB */
  maxEvalSetBytes?: number;
  /** `POCKETBENCH_QUEUE_PREFIX`: BullMQ key prefix and queue-name prefix. @defaultValue 'pocketbench' */
  queuePrefix: string;
  /** `LOG_LEVEL` (pino). @defaultValue 'info' */
  logLevel: string;
  /** `POCKETBENCH_EVENTS_POLL_MS`: how often an SSE stream re-reads run progress. @defaultValue 500 */
  eventsPollMs: number;
  /** `POCKETBENCH_ALERT_SWEEP_MS`: how often the alert sweeper looks at series with new sessions; 0 disables it. @defaultValue 60000 */
  alertSweepMs: number;
  /**
   * `POCKETBENCH_RECONCILE_MS`: how often planned sessions are compared with the queue and the
   * missing ones enqueued again (a lost Redis heals within one interval); 0 runs it only at start.
   * @defaultValue 15000
   */
  reconcileMs: number;
  /** `POCKETBENCH_SUPERVISED=1` (started by `pocketbench up`): terminal SIGINT is left to the supervisor. @defaultValue false */
  supervised: boolean;
}

/** Quotas and limits of one run or project, configurable, with defaults a shared farm would pick. */
export interface ApiLimits {
  /** `POCKETBENCH_MAX_CELLS_PER_RUN`. @defaultValue 1000 */
  cellsPerRun: number;
  /** `POCKETBENCH_MAX_SESSIONS_PER_CELL`: `sessions` and `maxSessions` per side. @defaultValue 50 */
  sessionsPerCell: number;
  /** `POCKETBENCH_MAX_ITERATIONS`: timed iterations (and warmup) per session. @defaultValue 10000 */
  iterationsPerSession: number;
  /** `POCKETBENCH_MAX_MIN_DURATION_MS`: the largest `minDurationMs`. @defaultValue 60000 */
  minDurationMs: number;
  /** `POCKETBENCH_MAX_INPUT_MB`, stored in bytes: all inputs of one inference together. @defaultValue 64 MB */
  inputBytes: number;
  /** `POCKETBENCH_MAX_RUNS_IN_FLIGHT`: queued or running runs per project. @defaultValue 20 */
  runsInFlight: number;
}

/** Loopback: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${parsed.protocol}//…"`);
  }
  return raw;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Parses and checks the api's environment; throws a ConfigError naming the first bad variable. */
export function loadConfig(env: Env): ApiConfig {
  // Empty means unset (the shell idiom `POCKETBENCH_TOKEN=`); only blanks is a mistake, not "no token".
  const rawToken = env.POCKETBENCH_TOKEN;
  if (rawToken !== undefined && rawToken !== '' && rawToken.trim() === '') {
    throw new ConfigError('POCKETBENCH_TOKEN', 'is only whitespace: set the admin bearer token, or leave the variable empty for open local mode on loopback');
  }
  const adminToken = rawToken?.trim() || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('POCKETBENCH_TOKEN', 'must be at least 16 characters (it is the admin bearer token)');
  }
  const host = env.HOST?.trim() || '127.0.0.1';
  if (adminToken === undefined && !isLoopback(host)) {
    throw new ConfigError(
      'HOST',
      `is ${host}, not loopback, and POCKETBENCH_TOKEN is not set: set POCKETBENCH_TOKEN (every request then needs a token) or bind 127.0.0.1`,
    );
  }
  const hostsRaw = env.POCKETBENCH_ALLOWED_HOSTS?.trim();
  let allowedHosts: string[] | '*';
  if (hostsRaw === '*') allowedHosts = '*';
  else if (hostsRaw) {
    allowedHosts = hostsRaw.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    const bad = allowedHosts.find((h) => !/^[a-z0-9.:[\]-]+$/.test(h));
    if (bad) throw new ConfigError('POCKETBENCH_ALLOWED_HOSTS', `"${bad}" is not a host name (give names without port, comma-separated, or *)`);
  } else allowedHosts = isLoopback(host) ? LOOPBACK_NAMES : '*';
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const queuePrefix = env.POCKETBENCH_QUEUE_PREFIX?.trim() || 'pocketbench';
  if (!/^[A-Za-z0-9_-]+$/.test(queuePrefix)) {
    throw new ConfigError('POCKETBENCH_QUEUE_PREFIX', `may hold only letters, digits, "_" and "-", got "${queuePrefix}"`);
  }
  const alertSweepMs = integer(env, 'POCKETBENCH_ALERT_SWEEP_MS', 60_000, 0, 24 * 3600_000);
  if (alertSweepMs > 0 && alertSweepMs < 100) {
    throw new ConfigError('POCKETBENCH_ALERT_SWEEP_MS', `must be 0 (off) or at least 100 ms, got "${alertSweepMs}"`);
  }
  const reconcileMs = integer(env, 'POCKETBENCH_RECONCILE_MS', 15_000, 0, 24 * 3600_000);
  if (reconcileMs > 0 && reconcileMs < 100) {
    throw new ConfigError('POCKETBENCH_RECONCILE_MS', `must be 0 (only at start) or at least 100 ms, got "${reconcileMs}"`);
  }
  return {
    reconcileMs,
    supervised: env.POCKETBENCH_SUPERVISED === '1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    host,
    openMode: adminToken === undefined,
    allowedHosts,
    limits: {
      cellsPerRun: integer(env, 'POCKETBENCH_MAX_CELLS_PER_RUN', 1000, 1, 100_000),
      sessionsPerCell: integer(env, 'POCKETBENCH_MAX_SESSIONS_PER_CELL', 50, 1, 200),
      iterationsPerSession: integer(env, 'POCKETBENCH_MAX_ITERATIONS', 10_000, 1, 1_000_000),
      minDurationMs: integer(env, 'POCKETBENCH_MAX_MIN_DURATION_MS', 60_000, 0, 3_600_000),
      inputBytes: integer(env, 'POCKETBENCH_MAX_INPUT_MB', 64, 1, 64 * 1024) * 1024 * 1024,
      runsInFlight: integer(env, 'POCKETBENCH_MAX_RUNS_IN_FLIGHT', 20, 1, 100_000),
    },
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    dataDir: path.resolve(REPO_ROOT, env.POCKETBENCH_DATA_DIR?.trim() || '.pocketbench'),
    adminToken,
    maxUploadBytes: integer(env, 'POCKETBENCH_MAX_UPLOAD_MB', 512, 1, 1024 * 1024) * 1024 * 1024,
    maxEvalSetBytes: integer(env, 'POCKETBENCH_MAX_EVAL_SET_MB', 64, 1, 4096) * 1024 * 1024,
    queuePrefix,
    logLevel,
    eventsPollMs: integer(env, 'POCKETBENCH_EVENTS_POLL_MS', 500, 20, 60_000),
    alertSweepMs,
  };
}
