import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { validationFailed } from '../errors.js';

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true, coerceTypes: false });
const compiled = new WeakMap<object, ValidateFunction>();

/** `/matrix/backends/1` → `matrix.backends[1]`. */
export function fieldName(instancePath: string, prefix = ''): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = prefix;
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(body)';
}

/** At most this many problems are listed: a huge bad body must not become a huger error. */
export const MAX_PROBLEMS = 20;

/** A value quoted in a message, cut short: the message names the problem, it does not echo the input. */
export function quote(value: unknown, max = 80): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value.length > max ? value.slice(0, max) : value) : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max)}…` : s);

function describe(e: ErrorObject, prefix: string): { field: string; message: string } {
  const where = fieldName(e.instancePath, prefix);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const field = fieldName(`${e.instancePath}/${p.missingProperty as string}`, prefix);
      return { field, message: `${field} is required` };
    }
    case 'additionalProperties': {
      const field = fieldName(`${e.instancePath}/${p.additionalProperty as string}`, prefix);
      return { field, message: `${field} is not a known field` };
    }
    case 'enum':
      return {
        field: where,
        message: `${where} is ${quote(e.data)}, expected one of ${(p.allowedValues as unknown[]).join(', ')}`,
      };
    case 'minimum':
    case 'maximum':
      return { field: where, message: `${where} is ${quote(e.data)}, must be ${e.message?.replace(/^must be /, '')}` };
    case 'pattern':
      return { field: where, message: `${where} ${quote(e.data)} has an invalid form` };
    default:
      return { field: where, message: `${where} ${e.message}` };
  }
}

/**
 * Validates `value` against `schema`; throws a 422 whose message names the first bad field
 * and whose details list the first MAX_PROBLEMS problems (`more`: how many were left out).
 */
export function validate<T>(schema: object, value: unknown, prefix = ''): T {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  if (fn(value)) return value as T;
  const errors = fn.errors ?? [];
  const problems = errors.slice(0, MAX_PROBLEMS).map((e) => {
    const d = describe(e, prefix);
    return { field: cut(d.field, 200), message: cut(d.message, 400) };
  });
  throw validationFailed(problems[0]?.message ?? 'invalid input', {
    field: problems[0]?.field,
    problems,
    ...(errors.length > MAX_PROBLEMS ? { more: errors.length - MAX_PROBLEMS } : {}),
  });
}

/**
 * Query strings arrive as strings: turn the integer-typed ones into numbers (a non-number
 * stays a string and fails validation by name), drop repeated keys to their last value.
 */
export function queryToObject(query: Record<string, unknown>, integerKeys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    out[k] = integerKeys.includes(k) && typeof last === 'string' && /^-?\d+$/.test(last) ? Number(last) : last;
  }
  return out;
}
