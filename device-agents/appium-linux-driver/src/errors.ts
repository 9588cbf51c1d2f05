import { errors } from '@appium/base-driver';

/**
 * Typed errors of this driver. Each extends the W3C protocol error whose status it should
 * travel with, and names its kind in the message prefix so that a client (the worker) can
 * classify it from the wire alone: `[TargetUnreachable]`, `[TransferIntegrity]`, `[HarnessTimeout]`.
 */
export const ERROR_KINDS = ['TargetUnreachable', 'TransferIntegrity', 'HarnessTimeout', 'HarnessNotInstalled'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The target (ssh board, emulator binary) cannot be reached or started: infrastructure, retryable. */
export class TargetUnreachableError extends errors.UnknownError {
  readonly kind: ErrorKind = 'TargetUnreachable';
  constructor(message: string) {
    super(`[TargetUnreachable] ${message}`);
  }
}

/** A file arrived with a different sha256 than it left with. */
export class TransferIntegrityError extends errors.UnknownError {
  readonly kind: ErrorKind = 'TransferIntegrity';
  constructor(remotePath: string, expected: string, actual: string) {
    super(`[TransferIntegrity] ${remotePath}: expected sha256 ${expected}, found ${actual}`);
  }
}

/** The harness ran past its time budget and was killed. */
export class HarnessTimeoutError extends errors.TimeoutError {
  readonly kind: ErrorKind = 'HarnessTimeout';
  constructor(budgetSec: number, stderrTail: string) {
    super(`[HarnessTimeout] the harness exceeded its ${budgetSec} s budget and was killed${stderrTail ? `; stderr: ${stderrTail}` : ''}`);
  }
}

/** `mobile: runHarness` for a version that `installApp` never put on this target. */
export class HarnessNotInstalledError extends errors.InvalidArgumentError {
  readonly kind: ErrorKind = 'HarnessNotInstalled';
  constructor(version: string) {
    super(`[HarnessNotInstalled] harness version ${version} is not installed on this target; call installApp with the bundle first`);
  }
}

/** A bad argument, named. */
export function invalidArgument(name: string, problem: string): Error {
  return new errors.InvalidArgumentError(`'${name}' ${problem}`);
}
