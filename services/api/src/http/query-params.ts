// Query and path parameters of the dashboard's routes (routes/ui.ts), validated once with errors naming the parameter (400).
import type { Request } from 'express';
import { isUuid } from '@pocketbench/contracts';
import { badRequest } from '../errors.js';


function raw(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw badRequest(`query parameter "${name}" must be given once, as text`);
  return v;
}

export function text(req: Request, name: string, max = 200): string | undefined {
  const v = raw(req, name);
  if (v !== undefined && v.length > max) throw badRequest(`query parameter "${name}" is longer than ${max} characters`);
  return v;
}

export function int(req: Request, name: string, def: number, min: number, max: number): number {
  const v = raw(req, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < min || n > max) throw badRequest(`query parameter "${name}" must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

export function oneOf<T extends string>(req: Request, name: string, values: readonly T[]): T | undefined {
  const v = raw(req, name);
  if (v !== undefined && !values.includes(v as T)) throw badRequest(`query parameter "${name}" must be one of ${values.join(', ')}, got "${v}"`);
  return v as T | undefined;
}

export function bool(req: Request, name: string): boolean {
  const v = raw(req, name);
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw badRequest(`query parameter "${name}" must be true or false, got "${v}"`);
}

export function date(req: Request, name: string): Date | null {
  const v = raw(req, name);
  if (v === undefined) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badRequest(`query parameter "${name}" must be an ISO 8601 timestamp, got "${v}"`);
  return d;
}

export function uuid(value: string | undefined, what: string): string {
  if (!value || !isUuid(value)) throw badRequest(`${what} must be a UUID, got "${value ?? ''}"`);
  return value.toLowerCase();
}

export function uuidList(req: Request, name: string, min: number, max: number): string[] | undefined {
  const v = raw(req, name);
  if (v === undefined) return undefined;
  const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length < min || ids.length > max) throw badRequest(`query parameter "${name}" must list ${min} to ${max} ids separated by commas, got ${ids.length}`);
  return ids.map((id, i) => uuid(id, `${name}[${i}]`));
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
