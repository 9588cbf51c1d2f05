#!/usr/bin/env node
// Runs every mocha spec (or the globs given as arguments) and ends with the plain line
// "N passed, N failed" that CI reads; mocha's own summary is not recognised there.
import { spawnSync } from 'node:child_process';
import { register } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

if (!process.env.TSX_REGISTERED) {
  // Re-exec under tsx so .ts specs and workspace sources load.
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TSX_REGISTERED: '1' },
  });
  process.exit(r.status ?? 1);
}
void register;

const args = process.argv.slice(2);
const grep = args.find((a) => a.startsWith('--grep='))?.slice('--grep='.length);
const patterns = args.filter((a) => !a.startsWith('--'));
function specsUnder(p) {
  if (statSync(p).isFile()) return [p];
  return readdirSync(p, { recursive: true })
    .map((f) => path.join(p, String(f)))
    .filter((f) => f.endsWith('.spec.ts'));
}
// Arguments are spec files or folders; default: everything under test/.
const files = [...new Set((patterns.length ? patterns : ['test']).flatMap(specsUnder))].sort();

const mocha = new Mocha({ timeout: 120_000, reporter: 'spec', grep });
for (const f of files) mocha.addFile(f);
await mocha.loadFilesAsync();
// Wall time per spec file, hooks included (mocha prints only the tests' own times): the slowest
// are listed before the result line, so the suite's time can be kept in check.
const fileMs = new Map();
let current;
let since = 0;
const charge = () => {
  if (current) fileMs.set(current, (fileMs.get(current) ?? 0) + (performance.now() - since));
  since = performance.now();
};
const onSuite = (suite) => {
  charge();
  current = suite.file ?? current;
};
const runner = mocha.run((failures) => {
  charge();
  const { passes = 0, failures: failed = 0, pending = 0 } = runner.stats ?? {};
  const slowest = [...fileMs].sort((a, b) => b[1] - a[1]).slice(0, 12);
  if (slowest.length > 1) {
    console.log('');
    console.log('Slowest spec files (wall time, hooks included):');
    for (const [f, ms] of slowest) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${path.relative(process.cwd(), f)}`);
  }
  console.log('');
  console.log(`${passes} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
  process.exitCode = failures > 0 || passes === 0 ? 1 : 0;
  // Leftover handles (pools, sockets) in a buggy test must not hang CI.
  setTimeout(() => process.exit(process.exitCode), 2000).unref();
});
runner.on('suite', onSuite);
runner.on('suite end', onSuite);
