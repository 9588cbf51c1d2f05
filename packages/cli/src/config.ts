import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the CLI runs from source through tsx). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What the CLI reads from its environment, parsed once. */
export interface CliConfig {
  /** Where the api is (`POCKETBENCH_URL`). @defaultValue 'http://127.0.0.1:8080' */
  url: string;
  /** Bearer token (`POCKETBENCH_TOKEN`). */
  token?: string;
  /** `POCKETBENCH_DATA_DIR`. @defaultValue '<repo>/.pocketbench' */
  dataDir: string;
  /** `DATABASE_URL` (migrate, token create, up). */
  databaseUrl?: string;
  /** `REDIS_URL` (up, worker). */
  redisUrl?: string;
  /** `PORT` for `up`. @defaultValue 8080 */
  port: number;
  /** The whole environment, handed on to the processes `up` and `worker` start. */
  env: NodeJS.ProcessEnv;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const url = (env.POCKETBENCH_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
  try {
    new URL(url);
  } catch {
    throw new UsageError(`POCKETBENCH_URL is not a valid URL: "${url}"`);
  }
  const portRaw = env.PORT || '8080';
  const port = Number(portRaw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`PORT must be a port number, got "${portRaw}"`);
  return {
    url,
    token: env.POCKETBENCH_TOKEN || undefined,
    dataDir: path.resolve(env.POCKETBENCH_DATA_DIR || path.join(REPO_ROOT, '.pocketbench')),
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    port,
    env,
  };
}
