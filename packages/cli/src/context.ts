import os from 'node:os';
import { ApiClient, ApiRequestError } from './api-client.js';
import { loadConfig, UsageError, type CliConfig } from './config.js';

/** Exit codes: documented in `pocketbench --help`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** An error the CLI reports as one sentence and an exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode: number = EXIT.failed) {
    super(message);
  }
}

let cached: CliConfig | undefined;
export function config(): CliConfig {
  cached ??= loadConfig(process.env);
  return cached;
}

export function client(): ApiClient {
  const c = config();
  return new ApiClient(c.url, c.token);
}

/** This machine's architecture as the devices table names it. */
export function hostArch(): string {
  const a = os.arch();
  return a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : a;
}

/** `host` means this machine's pool. */
export function resolveTarget(t: string): string {
  return t === 'host' ? `host-${hostArch()}` : t;
}

/** Maps any error to the one sentence and exit code the user sees. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof UsageError) return new CliError(err.message, EXIT.usage);
  if (err instanceof ApiRequestError) {
    if (err.status === 0) return new CliError(err.message, err.code === 'bad_file' ? EXIT.usage : EXIT.unreachable);
    const details = err.details && typeof err.details === 'object' ? detailText(err.details) : '';
    return new CliError(`${err.message}${details}`, err.status >= 400 && err.status < 500 ? EXIT.usage : EXIT.failed);
  }
  return new CliError((err as Error)?.message ?? String(err), EXIT.failed);
}

function detailText(details: object): string {
  const d = details as { errors?: { path?: string; message?: string }[]; field?: string };
  if (Array.isArray(d.errors) && d.errors.length) {
    return ` (${d.errors.slice(0, 3).map((e) => [e.path, e.message].filter(Boolean).join(': ')).join('; ')})`;
  }
  return '';
}

export function parsePositiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name} must be a positive integer, got "${v}"`, EXIT.usage);
    return n;
  };
}

export function parseNonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a non-negative integer, got "${v}"`, EXIT.usage);
    return n;
  };
}

export const splitList = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
