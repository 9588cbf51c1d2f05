// The dashboard's query strings (routes/ui.ts) as `validate(schema, …)` reads them, and its path
// ids and alert notes. A bad query parameter is a 422 like every other validation; a malformed
// id in the path or a bad note stays a 400.
import type { Request } from 'express';
import { isUuid } from '@pocketbench/contracts';
import { badRequest, validationFailed } from '../errors.js';
import { queryToObject, quote } from './validate.js';

/** The parameters of a query that are not text; the rest stay strings. */
export interface QueryTypes {
  integers?: string[];
  /** `true`/`1`, `false`/`0`. */
  booleans?: string[];
  /** Comma-separated, e.g. `runs=a,b`; empty items are dropped. */
  lists?: string[];
}

const BOOLEANS = new Map([['true', true], ['1', true], ['false', false], ['0', false]]);

/**
 * The query for `validate(schema, …)`, read as `queryToObject` reads every other route's (the
 * last of repeated keys, integers as numbers), plus booleans and lists. An empty value is no
 * value: the dashboard's empty filters. A value that is not what its type expects is left as
 * it came, so the schema names it.
 */
export function dashboardQuery(req: Request, types: QueryTypes = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(queryToObject(req.query as Record<string, unknown>, types.integers ?? []))) {
    if (v === '') continue;
    if (typeof v === 'string' && types.booleans?.includes(name) && BOOLEANS.has(v)) out[name] = BOOLEANS.get(v);
    else if (typeof v === 'string' && types.lists?.includes(name)) out[name] = v.split(',').map((s) => s.trim()).filter(Boolean);
    else out[name] = v;
  }
  return out;
}

/** A timestamp parameter (schema-checked text) as a Date; one `new Date` cannot read is a 422 naming it. */
export function date(value: string | undefined, field: string): Date | null {
  if (value === undefined) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) {
    const message = `${field} ${quote(value)} is not an ISO 8601 timestamp`;
    throw validationFailed(message, { field, problems: [{ field, message }] });
  }
  return d;
}

export function uuid(value: string | undefined, what: string): string {
  if (!value || !isUuid(value)) throw badRequest(`${what} must be a UUID, got "${value ?? ''}"`);
  return value.toLowerCase();
}

export function pathId(value: string | undefined, what: string): number {
  if (!value || !/^\d{1,15}$/.test(value) || Number(value) < 1) throw badRequest(`${what} must be a positive integer, got "${value ?? ''}"`);
  return Number(value);
}

/** Optional `{note}` of an alert action. */
export function note(body: unknown): string | null {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return null;
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object like {"note": "…"}');
  const n = (body as Record<string, unknown>).note;
  if (n === undefined || n === null) return null;
  if (typeof n !== 'string' || n.length > 2000) throw badRequest('field "note" must be text of at most 2000 characters');
  return n;
}
