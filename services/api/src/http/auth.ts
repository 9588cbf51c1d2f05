import type { NextFunction, Request, Response } from 'express';
import type { Pool } from '@pocketbench/db';
import { resolvePrincipal, type Principal } from '../domain/auth/tokens.js';

/** Paths under /api/v1 anyone may read: the API description. */
const PUBLIC = new Set(['/api/v1/openapi.json']);

/** Bearer authentication for everything under /api/v1; the caller lands in `res.locals.principal`. */
export function authenticate(db: Pool, adminToken: string | undefined) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (PUBLIC.has(req.originalUrl.split('?')[0])) return next();
    res.locals.principal = await resolvePrincipal(db, adminToken, req.headers.authorization);
    next();
  };
}

/** The authenticated caller of this request (set by `authenticate`). */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new Error('principalOf: the route is not behind authenticate()');
  return p;
}
