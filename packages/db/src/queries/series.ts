import { createHash } from 'node:crypto';
import type { Queryable } from '../queryable.js';

/** Everything that makes sessions comparable over time (shared/DESIGN.md, "series"). */
export interface SeriesKeyInput {
  projectId: string;
  model: string;
  variant: string;
  runtime: string;
  backend: string;
  deviceModel: string;
  osMajor: string;
  harnessVersion: string;
  /** Canonical text of the input spec (names, shapes, dtypes, seed). */
  inputSpec: string;
}

const KEY_FIELDS: (keyof SeriesKeyInput)[] = [
  'projectId', 'model', 'variant', 'runtime', 'backend', 'deviceModel', 'osMajor', 'harnessVersion', 'inputSpec',
];

/** Stable key: the fields joined in a fixed order, hashed so long input specs stay indexable. */
export function seriesKey(input: SeriesKeyInput): string {
  const text = KEY_FIELDS.map((f) => `${f}=${input[f]}`).join('\n');
  return createHash('sha256').update(text).digest('hex');
}

/** Major version from an OS version string: "12.5" → "12", "6.1.0-28-amd64" → "6". */
export function osMajor(osVersion: string | undefined | null): string {
  const m = /\d+/.exec(osVersion ?? '');
  return m ? m[0] : 'unknown';
}

/** Canonical JSON (keys sorted) so the same input spec always gives the same key. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Returns the series id for this key, creating the row the first time. */
export async function upsertSeries(q: Queryable, input: SeriesKeyInput): Promise<number> {
  const key = seriesKey(input);
  const { rows } = await q.query<{ id: number | string }>(
    `INSERT INTO series (key, project_id, model, variant, runtime, backend, device_model, os_major, harness_version, input_spec)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
     RETURNING id`,
    [key, input.projectId, input.model, input.variant, input.runtime, input.backend, input.deviceModel, input.osMajor,
      input.harnessVersion, input.inputSpec],
  );
  return Number(rows[0].id);
}

export interface SeriesRow extends SeriesKeyInput {
  id: number;
  key: string;
  createdAt: Date;
}

interface SeriesColumns {
  id: number | string;
  key: string;
  project_id: string;
  model: string;
  variant: string;
  runtime: string;
  backend: string;
  device_model: string;
  os_major: string;
  harness_version: string;
  input_spec: string;
  created_at: Date;
}

export async function getSeries(q: Queryable, id: number): Promise<SeriesRow | undefined> {
  const { rows } = await q.query<SeriesColumns>(
    `SELECT id, key, project_id, model, variant, runtime, backend, device_model, os_major, harness_version, input_spec, created_at
     FROM series WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id), key: r.key, projectId: r.project_id, model: r.model, variant: r.variant, runtime: r.runtime,
    backend: r.backend, deviceModel: r.device_model, osMajor: r.os_major, harnessVersion: r.harness_version,
    inputSpec: r.input_spec, createdAt: r.created_at,
  };
}
