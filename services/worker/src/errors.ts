/** An infrastructure fault (network, transfer, Appium): the queue retries the job with backoff. */
export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
  readonly errorClass: string = 'infrastructure';
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
    readonly errorClass: string,
    message: string,
  ) {
    super(message);
  }
}
