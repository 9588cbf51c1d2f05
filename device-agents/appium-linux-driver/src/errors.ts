import { errors } from '@appium/base-driver';

/**
 * Typed errors of this driver. Each extends the W3C protocol error whose status it travels with:
 * the `error` code is what a client reads (WebdriverIO names its error after it), the message is
 * for people. What a client must tell apart beyond that comes back as data: `mobile: pushFile`
 * returns the hash that landed, `mobile: runHarness` times out with the W3C `timeout` code.
 */

/** The target (ssh board, emulator binary) cannot be reached or started: infrastructure, retryable. */
export class TargetUnreachableError extends errors.UnknownError {}

/** A file arrived with a different sha256 than it left with. */
export class TransferIntegrityError extends errors.UnknownError {
  constructor(remotePath: string, expected: string, actual: string) {
    super(`${remotePath}: expected sha256 ${expected}, found ${actual}`);
  }
}

/** The harness ran past its time budget and was killed. */
export class HarnessTimeoutError extends errors.TimeoutError {
  constructor(budgetSec: number, stderrTail: string) {
    super(`the harness exceeded its ${budgetSec} s budget and was killed${stderrTail ? `; stderr: ${stderrTail}` : ''}`);
  }
}

/** `mobile: runHarness` for a version that `installApp` never put on this target. */
export class HarnessNotInstalledError extends errors.InvalidArgumentError {
  constructor(version: string) {
    super(`harness version ${version} is not installed on this target; call installApp with the bundle first`);
  }
}

/** A bad argument, named. */
export function invalidArgument(name: string, problem: string): Error {
  return new errors.InvalidArgumentError(`'${name}' ${problem}`);
}
