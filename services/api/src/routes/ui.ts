// Data routes behind the dashboard (series, compare, alerts) and the dashboard's static files.
// Owned by the dashboard work; mounted by app.ts.
import { Router } from 'express';
import type { Pool } from '@pocketbench/db';

export interface UiDeps {
  db: Pool;
}

export function uiRoutes(_deps: UiDeps): Router {
  return Router();
}

/** OpenAPI path items for the routes above, merged into /api/v1/openapi.json. */
export const uiPaths: Record<string, unknown> = {};
