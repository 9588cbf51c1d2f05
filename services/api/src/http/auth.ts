import type { NextFunction, Request, Response } from 'express';
import type { Pool } from '@pocketbench/db';
import { forbidden } from '../errors.js';
import { describePrincipal, resolvePrincipal, type AuthSettings, type Principal } from '../domain/auth/tokens.js';

/** Paths under /api/v1 anyone may read: the API description. */
const PUBLIC = new Set(['/api/v1/openapi.json']);

/** What a worker token may do: fetch an artifact's bytes by hash; a converter host also reports its conversions. */
const WORKER_MAY: [string[], RegExp][] = [
  [['GET', 'HEAD'], /^\/api\/v1\/artifacts\/[0-9a-f]{64}\/content$/],
  [['POST'], /^\/api\/v1\/conversions\/[^/]+\/(?:output|failure)$/],
];

/**
 * Bearer authentication for everything under /api/v1, before any body is read; the caller
 * lands in `res.locals.principal`. A worker token is refused everywhere but artifact bytes.
 */
export function authenticate(db: Pool, auth: AuthSettings) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const path = req.originalUrl.split('?')[0];
    if (PUBLIC.has(path)) return next();
    const principal = await resolvePrincipal(db, auth, req.headers.authorization);
    if (principal.kind === 'worker' && !WORKER_MAY.some(([methods, re]) => methods.includes(req.method) && re.test(path))) {
      throw forbidden(`${describePrincipal(principal)}, not ${req.method} ${path}`);
    }
    res.locals.principal = principal;
    next();
  };
}

/** The authenticated caller of this request (set by `authenticate`). */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new Error('principalOf: the route is not behind authenticate()');
  return p;
}
