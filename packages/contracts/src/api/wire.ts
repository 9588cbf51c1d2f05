// How a response DTO relates to what a route holds before `res.json`.

/** An instant as JSON carries it: ISO 8601 (what `Date.prototype.toJSON` writes). */
export type IsoTimestamp = string;

/**
 * A server-side value that `res.json` turns into `Dto`: the same shape, except that a string
 * may still be a `Date` there (JSON.stringify writes its ISO string). The api types every
 * response body with it, so a route that drifts from its DTO does not compile.
 */
export type Sendable<Dto> = Dto extends string
  ? Dto | Date
  : Dto extends object
    ? { [K in keyof Dto]: Sendable<Dto[K]> }
    : Dto;

/** `Dto` as the db returns it before `res.json`: the timestamp fields `K` still `Date`s (`| null` kept); a `Sendable<Dto>`. */
export type Stored<Dto, K extends keyof Dto> = { [P in keyof Dto]: P extends K ? Date | Exclude<Dto[P], string> : Dto[P] };

/** Every error leaves the api as this body (services/api/src/http/errors.ts). */
export interface ApiErrorBody {
  error: { code: string; message: string; details: unknown };
}
