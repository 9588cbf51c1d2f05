import type { WorkerErrorClass } from '@pocketbench/contracts';
import { InfrastructureError, TransferError } from '../errors.js';

export { TransferError };

/**
 * Device-layer faults. All are infrastructure faults (the processor retries the session);
 * `errorClass` says which, for the jobs table and the logs.
 */

/** Appium is down, the session was lost, or the target cannot be reached. */
export class DeviceUnavailableError extends InfrastructureError {
  override name = 'DeviceUnavailableError';
  override readonly errorClass: WorkerErrorClass = 'device_unavailable';
}

/** The harness outran the driver's backstop budget (its own budget plus a grace) and was killed. */
export class HarnessTimeoutError extends InfrastructureError {
  override name = 'HarnessTimeoutError';
  override readonly errorClass: WorkerErrorClass = 'harness_timeout';
}

/** The harness ended without writing a report (crash, missing runtime). */
export class HarnessFailedError extends InfrastructureError {
  override name = 'HarnessFailedError';
  override readonly errorClass: WorkerErrorClass = 'harness_failed';
}

/** The pulled report is not a BenchReport. */
export class ReportInvalidError extends InfrastructureError {
  override name = 'ReportInvalidError';
  override readonly errorClass: WorkerErrorClass = 'invalid_report';
}

/** Appium is not there or the session is gone: re-create the session before the next command. */
const LOST =
  /ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|fetch failed|other side closed|UND_ERR|invalid session id|session is either terminated|session not created|Could not find a connected|terminated or not started|no such driver|Request failed with/i;

export function isSessionLost(err: unknown): boolean {
  const e = err as { message?: string; name?: string; cause?: { code?: string; message?: string } } | undefined;
  return LOST.test(`${e?.name ?? ''} ${e?.message ?? ''} ${e?.cause?.code ?? ''} ${e?.cause?.message ?? ''}`);
}

/**
 * The W3C error code a WebDriver error came back with (`timeout`, `invalid argument`, …):
 * WebdriverIO names its error after the response's `error` field.
 */
export function w3cErrorCode(err: unknown): string | undefined {
  const name = (err as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Maps an error from a WebdriverIO command to the device layer's types: an error the adapter
 * already classed keeps its class; anything else (Appium gone, session lost, the target
 * unreachable) is the device being unavailable.
 */
export function classifyDeviceError(err: unknown, what: string): Error {
  if (err instanceof InfrastructureError) return err;
  const msg = (err as Error)?.message ?? String(err);
  return new DeviceUnavailableError(`${what}: ${msg}`, { cause: err });
}
