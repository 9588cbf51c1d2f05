import { isErrorClass, type BenchErrorClass, type ErrorClass, type WorkerErrorClass } from '@pocketbench/contracts';

/**
 * An infrastructure fault (network, transfer, Appium). It carries its class from where it is
 * raised; the fault policy (packages/contracts) says the queue retries it with backoff.
 */
export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
  readonly errorClass: WorkerErrorClass = 'infrastructure';
}

/** Downloading or verifying an artifact failed. */
export class TransferError extends InfrastructureError {
  override name = 'TransferError';
  override readonly errorClass = 'transfer';
}

/** The model itself is at fault (its inputs cannot be read or fed): the cell fails at once, no retry. */
export class ModelFaultError extends Error {
  override name = 'ModelFaultError';
  constructor(
    readonly errorClass: BenchErrorClass | 'model_too_large' | 'input_too_large',
    message: string,
  ) {
    super(message);
  }
}

/** The class an error was raised with; an error from elsewhere (a library, the database) is infrastructure. */
export function errorClassOf(err: unknown): ErrorClass {
  const c = (err as { errorClass?: unknown } | undefined)?.errorClass;
  return isErrorClass(c) ? c : 'infrastructure';
}
