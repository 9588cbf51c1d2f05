import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { BACKENDS, VARIANTS } from './vocabulary.js';

/** Budgets on a cell's fidelity pass; `min_` fields are lower limits. */
export const FIDELITY_BUDGET_FIELDS = ['min_top1_agreement_pct', 'min_cosine', 'max_accuracy_drop_pct', 'min_snr_db'] as const;
export type FidelityBudgetField = (typeof FIDELITY_BUDGET_FIELDS)[number];

/** Limits a cell must stay within (upper limits, except the fidelity `min_` fields). Sizes are in MB of 1,048,576 bytes (docs/statistics.md; the gate divides by 1024²). */
export interface BudgetLimits {
  p50_ms?: number;
  p90_ms?: number;
  load_ms?: number;
  peak_rss_mb?: number;
  model_size_mb?: number;
  /** Largest tolerated slowdown of the head's median latency against the baseline, in %. */
  max_regression_pct?: number;
  /** Fidelity (lower limits unless named max_): top-1 agreement with the reference, in %. */
  min_top1_agreement_pct?: number;
  /** Mean cosine similarity of outputs with the reference's, at most 1. */
  min_cosine?: number;
  /** Largest tolerated eval-set top-1 accuracy drop against the reference, in percentage points. */
  max_accuracy_drop_pct?: number;
  /** Signal-to-noise ratio of outputs against the reference's, in dB. */
  min_snr_db?: number;
  /** Largest tolerated slowdown of the head's p90 latency against the baseline, in %; unset = no p90 check. */
  max_p90_regression_pct?: number;
}

export const BUDGET_FIELDS = ['p50_ms', 'p90_ms', 'load_ms', 'peak_rss_mb', 'model_size_mb', 'max_regression_pct', 'max_p90_regression_pct', ...FIDELITY_BUDGET_FIELDS] as const;
export type BudgetField = (typeof BUDGET_FIELDS)[number];
export const MATCH_FIELDS = ['model', 'variant', 'backend', 'pool'] as const;
export type MatchField = (typeof MATCH_FIELDS)[number];

/** Default tolerance δ when no rule sets `max_regression_pct`. */
export const DEFAULT_MAX_REGRESSION_PCT = 5;

/** Which cells a rule applies to: each field is a list of names or `*` globs; an absent field matches anything. */
export type BudgetMatch = Partial<Record<MatchField, string[]>>;

export interface BudgetRule {
  match: BudgetMatch;
  limits: BudgetLimits;
  /** 1-based line of the rule in the file, to say which rule decided. */
  line: number;
}

export interface Budgets {
  fileName: string;
  defaults: BudgetLimits;
  rules: BudgetRule[];
}

export interface BudgetIssue {
  line: number;
  column: number;
  /** Where in the document, e.g. `rules[1].p90_ms`. */
  path: string;
  message: string;
}

/** A budgets file that cannot be used; the message names the file, line and field of the first problem. */
export class BudgetsError extends Error {
  readonly issues: BudgetIssue[];
  readonly fileName: string;
  constructor(fileName: string, issues: BudgetIssue[]) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    super(`${fileName}:${first.line}:${first.column}: ${first.path ? `${first.path}: ` : ''}${first.message}${more}`);
    this.name = 'BudgetsError';
    this.fileName = fileName;
    this.issues = issues;
  }
}

/**
 * Parses and validates a budgets file:
 *
 * ```yaml
 * defaults:
 *   max_regression_pct: 5
 * rules:
 *   - match: { model: mobilenet_v2, variant: int8-static, backend: cpu }
 *     model_size_mb: 15
 *     p90_ms: 50
 * ```
 * Throws BudgetsError listing every problem with its line and field.
 */
export function parseBudgets(yamlText: string, fileName = 'budgets.yml'): Budgets {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: BudgetIssue[] = [];
  const at = (node: YamlNode | null | undefined, path: string, message: string) => {
    const offset = node?.range?.[0] ?? 0;
    const pos = lineCounter.linePos(offset);
    issues.push({ line: pos.line, column: pos.col, path, message });
  };
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    issues.push({ line: pos.line, column: pos.col, path: '', message: `not valid YAML: ${e.message.split('\n')[0]}` });
  }
  if (issues.length) throw new BudgetsError(fileName, issues);

  const budgets: Budgets = { fileName, defaults: {}, rules: [] };
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return budgets;
  if (!isMap(root)) {
    at(root as YamlNode, '', 'the file must be a mapping with `rules` (and optionally `defaults`, `version`)');
    throw new BudgetsError(fileName, issues);
  }
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as YamlNode | null;
    if (key === 'version') {
      if (!isScalar(value) || value.value !== 1) at(value ?? (pair.key as YamlNode), 'version', 'must be 1');
    } else if (key === 'defaults') {
      budgets.defaults = readLimits(value, 'defaults', at, false);
    } else if (key === 'rules') {
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (!isSeq(value)) {
        at(value ?? (pair.key as YamlNode), 'rules', 'must be a list of rules');
        continue;
      }
      value.items.forEach((item, i) => {
        const rule = readRule(item as YamlNode, `rules[${i}]`, at, lineCounter);
        if (rule) budgets.rules.push(rule);
      });
    } else {
      at(pair.key as YamlNode, key, `unknown key "${key}" (expected rules, defaults or version)`);
    }
  }
  if (issues.length) throw new BudgetsError(fileName, issues);
  return budgets;
}

type At = (node: YamlNode | null | undefined, path: string, message: string) => void;

function readRule(node: YamlNode, path: string, at: At, lc: LineCounter): BudgetRule | null {
  if (!isMap(node)) {
    at(node, path, 'must be a mapping with `match` and one or more budget fields');
    return null;
  }
  const match: BudgetMatch = {};
  const limitsMap = new Map<string, YamlNode | null>();
  let sawLimit = false;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as YamlNode | null;
    if (key === 'match') {
      if (!isMap(value)) {
        at(value ?? (pair.key as YamlNode), `${path}.match`, 'must be a mapping of model, variant, backend and/or pool');
        continue;
      }
      for (const m of value.items) {
        const field = isScalar(m.key) ? String(m.key.value) : '';
        const mPath = `${path}.match.${field}`;
        if (!(MATCH_FIELDS as readonly string[]).includes(field)) {
          at(m.key as YamlNode, mPath, `unknown match field "${field}" (expected ${MATCH_FIELDS.join(', ')})`);
          continue;
        }
        const names = readNames(m.value as YamlNode | null, mPath, at);
        if (names) {
          checkKnown(field as MatchField, names, m.value as YamlNode, mPath, at);
          match[field as MatchField] = names;
        }
      }
    } else if ((BUDGET_FIELDS as readonly string[]).includes(key)) {
      sawLimit = true;
      limitsMap.set(key, value);
    } else {
      at(pair.key as YamlNode, `${path}.${key}`, `unknown field "${key}" (expected match, ${BUDGET_FIELDS.join(', ')})`);
    }
  }
  if (!sawLimit) at(node, path, `sets no budget (add one of ${BUDGET_FIELDS.join(', ')})`);
  const limits: BudgetLimits = {};
  for (const [key, value] of limitsMap) {
    const v = readLimit(value, `${path}.${key}`, key as BudgetField, at);
    if (v !== undefined) limits[key as BudgetField] = v;
  }
  return { match, limits, line: lc.linePos(node.range?.[0] ?? 0).line };
}

function readLimits(node: YamlNode | null, path: string, at: At, requireOne: boolean): BudgetLimits {
  const limits: BudgetLimits = {};
  if (node === null || (isScalar(node) && node.value === null)) return limits;
  if (!isMap(node)) {
    at(node, path, 'must be a mapping of budget fields');
    return limits;
  }
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!(BUDGET_FIELDS as readonly string[]).includes(key)) {
      at(pair.key as YamlNode, `${path}.${key}`, `unknown field "${key}" (expected ${BUDGET_FIELDS.join(', ')})`);
      continue;
    }
    const v = readLimit(pair.value as YamlNode | null, `${path}.${key}`, key as BudgetField, at);
    if (v !== undefined) limits[key as BudgetField] = v;
  }
  if (requireOne && Object.keys(limits).length === 0) at(node, path, 'sets no budget');
  return limits;
}

function readLimit(node: YamlNode | null, path: string, field: BudgetField, at: At): number | undefined {
  const raw = isScalar(node) ? node.value : undefined;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0) {
    const shown = isScalar(node) ? JSON.stringify(node.value) : node ? 'a ' + (isMap(node) ? 'mapping' : 'list') : 'nothing';
    at(node, path, `must be a positive number (got ${shown})`);
    return undefined;
  }
  if ((field === 'max_regression_pct' || field === 'max_p90_regression_pct') && raw >= 100) {
    at(node, path, `must be below 100 (got ${raw})`);
    return undefined;
  }
  if ((field === 'min_top1_agreement_pct' || field === 'max_accuracy_drop_pct') && raw > 100) {
    at(node, path, `is a percentage: at most 100 (got ${raw})`);
    return undefined;
  }
  if (field === 'min_cosine' && raw > 1) {
    at(node, path, `a cosine similarity is at most 1 (got ${raw})`);
    return undefined;
  }
  return raw;
}

function readNames(node: YamlNode | null, path: string, at: At): string[] | null {
  const one = (n: unknown): string | null => {
    if (isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number') && String(n.value).trim() !== '') {
      return String(n.value).trim();
    }
    return null;
  };
  if (isSeq(node)) {
    const names: string[] = [];
    for (const item of node.items) {
      const s = one(item);
      if (s === null) {
        at(item as YamlNode, path, 'must be a name, a `*` glob, or a list of them');
        return null;
      }
      names.push(s);
    }
    if (names.length === 0) at(node, path, 'must not be an empty list');
    return names.length ? names : null;
  }
  const s = one(node);
  if (s === null) {
    at(node, path, 'must be a name, a `*` glob, or a list of them');
    return null;
  }
  return [s];
}

function checkKnown(field: MatchField, names: string[], node: YamlNode, path: string, at: At): void {
  const known: readonly string[] | undefined = field === 'backend' ? BACKENDS : field === 'variant' ? VARIANTS : undefined;
  if (!known) return;
  for (const name of names) {
    if (!name.includes('*') && !known.includes(name)) {
      at(node, path, `unknown ${field} "${name}" (expected one of ${known.join(', ')})`);
    }
  }
}

/** The cell a budget is looked up for. */
export interface BudgetCell {
  model: string;
  variant: string;
  backend: string;
  pool: string;
}

export interface ResolvedBudget extends BudgetLimits {
  max_regression_pct: number;
  /** Lines of the rules that applied, in order. */
  matchedRules: number[];
}

/**
 * The limits for one cell: `defaults`, then every matching rule in file order, a later rule
 * overriding a field an earlier one set. `max_regression_pct` falls back to 5.
 */
export function matchBudget(budgets: Budgets, cell: BudgetCell): ResolvedBudget {
  const resolved: ResolvedBudget = { max_regression_pct: DEFAULT_MAX_REGRESSION_PCT, ...budgets.defaults, matchedRules: [] };
  for (const rule of budgets.rules) {
    const fits = MATCH_FIELDS.every((f) => !rule.match[f] || rule.match[f]!.some((pattern) => globMatch(pattern, cell[f])));
    if (!fits) continue;
    Object.assign(resolved, rule.limits);
    resolved.matchedRules.push(rule.line);
  }
  return resolved;
}

/**
 * Whether `value` matches a glob whose only wildcard is `*` (any run of characters). No regular
 * expression is built: the pieces between stars are found left to right, each at its first
 * occurrence after the previous one (taking the earliest is never worse for a `*`-only glob), so
 * the time is bounded by the value's length times the pattern's, whatever the number of stars.
 */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const pieces = pattern.split('*');
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i];
    if (piece === '') continue;
    const found = value.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}
