import { ApiError } from '../../errors.js';

/** Why a run cannot be gated: an ApiError, so the one error middleware answers it. */
export class GateError extends ApiError {
  constructor(
    override readonly status: 404 | 409 | 422,
    override readonly code: 'run_not_found' | 'run_in_progress' | 'invalid_budgets',
    message: string,
    details?: unknown,
  ) {
    super(status, code, message, details);
    this.name = 'GateError';
  }
}
