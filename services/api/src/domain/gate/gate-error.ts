/** Why a run cannot be gated; the route maps `status` and `code` onto the api's error shape. */
export class GateError extends Error {
  constructor(
    readonly status: 404 | 409 | 422,
    readonly code: 'run_not_found' | 'run_in_progress' | 'invalid_budgets',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'GateError';
  }
}
