/** An error the api answers with `{error: {code, message, details}}` and this HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const validationFailed = (message: string, details?: unknown) => new ApiError(422, 'validation_failed', message, details);
export const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const payloadTooLarge = (message: string, details?: unknown) => new ApiError(413, 'payload_too_large', message, details);
export const unsupportedMediaType = (message: string, details?: unknown) =>
  new ApiError(415, 'unsupported_media_type', message, details);
