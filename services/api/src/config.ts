import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The api's settings, parsed once from the environment by `loadConfig`. */
export interface ApiConfig {
  /** `PORT`. 0 picks a free port (tests). @defaultValue 8080 */
  port: number;
  /** `HOST`. @defaultValue '0.0.0.0' */
  host: string;
  /** `DATABASE_URL`. Unset: the caller (`pocketbench up`) provides an embedded Postgres. */
  databaseUrl?: string;
  /** `REDIS_URL`. Unset: the caller provides a local redis-server. */
  redisUrl?: string;
  /** `POCKETBENCH_DATA_DIR`; artifacts live under `<dataDir>/artifacts`. @defaultValue '<repo>/.pocketbench' */
  dataDir: string;
  /** `POCKETBENCH_TOKEN`: the admin bearer token. Unset and no token stored: open local mode. */
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
  const adminToken = env.POCKETBENCH_TOKEN?.trim() || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('POCKETBENCH_TOKEN', 'must be at least 16 characters (it is the admin bearer token)');
  }
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
    host: env.HOST?.trim() || '0.0.0.0',
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
