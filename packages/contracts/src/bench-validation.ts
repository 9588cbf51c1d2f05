import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { BenchSpec } from './bench-spec.js';
import type { BenchReport } from './bench-report.js';

/** Absolute paths of the JSON Schema files, for tools outside TypeScript. */
export const BENCH_SPEC_SCHEMA_PATH = new URL('../schemas/bench-spec.v1.schema.json', import.meta.url).pathname;
export const BENCH_REPORT_SCHEMA_PATH = new URL('../schemas/bench-report.v1.schema.json', import.meta.url).pathname;

export const benchSpecSchema: Record<string, unknown> = JSON.parse(readFileSync(BENCH_SPEC_SCHEMA_PATH, 'utf8'));
export const benchReportSchema: Record<string, unknown> = JSON.parse(readFileSync(BENCH_REPORT_SCHEMA_PATH, 'utf8'));

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

// ajv-formats is CommonJS; under ESM its function is the default export's default.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false, useDefaults: false }));
let specValidator: ValidateFunction | undefined;
let reportValidator: ValidateFunction | undefined;

/** One readable line per problem, naming the field: "/inputs/0/dtype: must be equal to one of …". */
function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const where = e.instancePath || '(document)';
      if (e.keyword === 'additionalProperties') return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
      if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
      if (e.keyword === 'required') return `${where === '(document)' ? '' : where}/${(e.params as { missingProperty: string }).missingProperty}: is required`;
      return `${where}: ${e.message}`;
    });
}

export function validateBenchSpec(doc: unknown): ValidationResult<BenchSpec> {
  specValidator ??= ajv.compile(benchSpecSchema);
  return specValidator(doc) ? { ok: true, value: doc as BenchSpec } : { ok: false, errors: describe(specValidator.errors) };
}

export function validateBenchReport(doc: unknown): ValidationResult<BenchReport> {
  reportValidator ??= ajv.compile(benchReportSchema);
  return reportValidator(doc) ? { ok: true, value: doc as BenchReport } : { ok: false, errors: describe(reportValidator.errors) };
}
