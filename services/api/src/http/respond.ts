import type { Response } from 'express';
import type { Sendable } from '@pocketbench/contracts';

/**
 * Answers with `body` as JSON. `Dto` is the route's response type from @pocketbench/contracts
 * (what the dashboard and the CLI read); a body that does not serialise to it does not compile.
 */
export function sendJson<Dto>(res: Response, body: Sendable<Dto>, status = 200): void {
  res.status(status).json(body);
}
