// Request guards that run before any route or body parser: security headers, the Host check
// (DNS rebinding), the cross-origin check and JSON-only bodies on state-changing requests.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, unsupportedMediaType } from '../errors.js';

/**
 * The dashboard is one same-origin page with its own script and stylesheet: nothing inline,
 * nothing from elsewhere, never framed.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every response, errors included. */
export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    next();
  };
}

/** `example.com:8080` → `example.com`; `[::1]:8080` → `::1`. */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * Refuses a Host header naming a host this server does not serve under: a page on an
 * attacker's domain that re-resolves to 127.0.0.1 (DNS rebinding) gets 421, never data.
 */
export function allowedHostsCheck(allowed: string[] | '*'): RequestHandler {
  if (allowed === '*') return (_req, _res, next) => next();
  const set = new Set(allowed);
  return (req, _res, next) => {
    const host = req.headers.host;
    if (host && set.has(hostName(host))) return next();
    next(new ApiError(421, 'host_not_allowed', `the Host header "${(host ?? '').slice(0, 100)}" is not one this server answers to (POCKETBENCH_ALLOWED_HOSTS)`));
  };
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Cross-site requests may not change state: a browser names the page's origin in `Origin`
 * (and `Sec-Fetch-Site`); one that is not this server's is refused before anything runs.
 * Non-browser clients (the CLI, CI, workers) send neither.
 */
export function sameOriginWrites(): RequestHandler {
  return (req, _res, next) => {
    if (!STATE_CHANGING.has(req.method)) return next();
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      return next(new ApiError(403, 'cross_origin', 'cross-site requests may not change anything here'));
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        originHost = undefined;
      }
      if (!originHost || originHost !== (req.headers.host ?? '').toLowerCase()) {
        return next(new ApiError(403, 'cross_origin', `requests from origin "${origin.slice(0, 100)}" may not change anything here`));
      }
    }
    next();
  };
}

const isJson = (req: Request) => typeof req.is(['application/json', 'application/*+json']) === 'string';

/**
 * State-changing requests carry JSON or nothing: a form or `text/plain` body (what a browser
 * may send cross-site without asking) is refused unread. `except` lists routes with their own
 * media type (the multipart upload).
 */
export function jsonOnlyWrites(except: (req: Request) => boolean): RequestHandler {
  return (req, _res, next) => {
    if (!STATE_CHANGING.has(req.method) || except(req)) return next();
    const type = req.headers['content-type'];
    if (type === undefined && !hasBody(req)) return next();
    if (type !== undefined && isJson(req)) return next();
    next(unsupportedMediaType(`send the request body as application/json (got ${type ? `"${type.slice(0, 100)}"` : 'a body without Content-Type'})`));
  };
}

/**
 * The JSON body parser of one route, with that route's own size limit. Mounted per route,
 * after authentication, so nothing is read for a caller who is refused anyway.
 */
export function jsonBody(limit: string): RequestHandler {
  const parse = express.json({ limit, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction) => parse(req, res, next);
}
