import assert from 'node:assert/strict';
import { BudgetsError, globMatch, matchBudget, parseBudgets } from '@pocketbench/contracts';

const MANDATE = `# The mandate "size < 15 MB, p90 < 50 ms" for the quantized mobile model.
defaults:
  max_regression_pct: 5
rules:
  - match: { model: mobilenet_v2, variant: [int8-dynamic, int8-static] }
    model_size_mb: 15
    p90_ms: 50
  - match: { model: "*", backend: cpu, pool: qemu-* }
    p90_ms: 400
    max_regression_pct: 10
`;

function issuesOf(text: string): BudgetsError {
  try {
    parseBudgets(text, 'b.yml');
  } catch (err) {
    assert.ok(err instanceof BudgetsError, `expected BudgetsError, got ${err}`);
    return err;
  }
  assert.fail('parseBudgets accepted a malformed file');
}

describe('contracts/budgets', () => {
  it('parses the mandate example and matches rules by model, variant, backend and pool', () => {
    const b = parseBudgets(MANDATE);
    assert.equal(b.rules.length, 2);
    const quantized = matchBudget(b, { model: 'mobilenet_v2', variant: 'int8-static', backend: 'cpu', pool: 'host-x86_64' });
    assert.equal(quantized.p90_ms, 50);
    assert.equal(quantized.model_size_mb, 15);
    assert.equal(quantized.max_regression_pct, 5);
    assert.deepEqual(quantized.matchedRules, [5]);
    const emulated = matchBudget(b, { model: 'mobilenet_v2', variant: 'int8-static', backend: 'cpu', pool: 'qemu-arm64' });
    assert.equal(emulated.p90_ms, 400, 'a later rule overrides an earlier one');
    assert.equal(emulated.model_size_mb, 15);
    assert.equal(emulated.max_regression_pct, 10);
    const fp32 = matchBudget(b, { model: 'mobilenet_v2', variant: 'fp32', backend: 'cpu', pool: 'host-x86_64' });
    assert.equal(fp32.p90_ms, undefined);
    assert.equal(fp32.max_regression_pct, 5);
  });

  it('accepts an empty file (regression check only, default 5 %)', () => {
    const b = parseBudgets('');
    assert.equal(matchBudget(b, { model: 'm', variant: 'fp32', backend: 'cpu', pool: 'p' }).max_regression_pct, 5);
  });

  it('names the line and field of a bad value', () => {
    const err = issuesOf('rules:\n  - match: { model: m }\n    p90_ms: fast\n');
    assert.deepEqual(
      err.issues.map((i) => [i.line, i.path]),
      [[3, 'rules[0].p90_ms']],
    );
    assert.match(err.message, /^b\.yml:3:13: rules\[0\]\.p90_ms: must be a positive number \(got "fast"\)$/);
  });

  it('rejects unknown fields, unknown backends, negative limits and broken YAML, each with its line', () => {
    assert.match(issuesOf('rules:\n  - match: { model: m }\n    p95_ms: 3\n').message, /b\.yml:3:5: rules\[0\]\.p95_ms: unknown field "p95_ms"/);
    assert.match(issuesOf('rules:\n  - match: { backend: gpu }\n    p90_ms: 3\n').message, /b\.yml:2:.*rules\[0\]\.match\.backend: unknown backend "gpu"/);
    assert.match(issuesOf('rules:\n  - match: { model: m }\n    model_size_mb: -1\n').message, /b\.yml:3:.*model_size_mb: must be a positive number/);
    assert.match(issuesOf('rules:\n  - match: { model: m }\n').message, /b\.yml:2:.*rules\[0\]: sets no budget/);
    assert.match(issuesOf('rules: [\n').message, /^b\.yml:\d+:\d+: not valid YAML/);
    assert.match(issuesOf('- 1\n- 2\n').message, /b\.yml:1:1: the file must be a mapping/);
    assert.match(issuesOf('defaults:\n  max_regression_pct: 150\n').message, /b\.yml:2:.*defaults\.max_regression_pct: must be below 100/);
    const many = issuesOf('rules:\n  - match: { model: m }\n    p90_ms: x\n    p50_ms: y\n');
    assert.equal(many.issues.length, 2);
    assert.match(many.message, /and 1 more problem\)$/);
  });

  it('matches `*` globs like a shell, without backtracking blow-up', () => {
    const cases: [string, string, boolean][] = [
      ['qemu-*', 'qemu-arm64', true], ['qemu-*', 'qemu-', true], ['qemu-*', 'host-x86_64', false],
      ['*', '', true], ['**', 'x', true], ['a*b*c', 'abc', true], ['a*b*c', 'aXbYc', true], ['a*b*c', 'acb', false],
      ['*int8*', 'mobilenet-int8-static', true], ['a*a', 'a', false], ['a*a', 'aa', true], ['*ab', 'aab', true],
      ['mobilenet_v2', 'mobilenet_v2', true], ['mobilenet_v2', 'mobilenet_v3', false], ['a.b', 'aXb', false],
    ];
    for (const [pattern, value, want] of cases) assert.equal(globMatch(pattern, value), want, `${pattern} ~ ${value}`);
    // The api hung for minutes on a regex built from such a glob (issue 11, finding 6).
    const name = 'a'.repeat(128);
    const pattern = `${'a*'.repeat(20)}b`;
    const budgets = parseBudgets(`rules:\n  - match: { model: "${pattern}" }\n    p90_ms: 1\n`);
    const started = process.hrtime.bigint();
    assert.equal(globMatch(pattern, name), false);
    assert.deepEqual(matchBudget(budgets, { model: name, variant: 'fp32', backend: 'cpu', pool: 'p' }).matchedRules, []);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(ms < 10, `20 stars on a 128-character name took ${ms.toFixed(2)} ms`);
  });
});
