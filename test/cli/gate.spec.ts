import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import express from 'express';
import { ApiClient } from '../../packages/cli/src/api-client.js';
import { registerGateCommand, runGate, type GateCommandOptions } from '../../packages/cli/src/commands/gate.js';
import pino from 'pino';
import { errorHandler } from '../../services/api/src/http/errors.js';
import { gateRoutes } from '../../services/api/src/routes/gate.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { createGateFixture, insertArtifact, insertJob, insertRun, insertSessions, type GateFixture } from '../stats/gate-fixtures.js';

// The CLI's own commander (the repository root resolves an older one for other tools).
const { Command } = createRequire(new URL('../../packages/cli/src/main.ts', import.meta.url))('commander') as { Command: new (name: string) => Parameters<typeof registerGateCommand>[0] };

const MANDATE = `rules:
  - match: { model: mobilenet_v2 }
    model_size_mb: 15
    p90_ms: 50
`;

describe('cli/gate', () => {
  let tdb: TestDatabase;
  let f: GateFixture;
  let server: Server;
  let url: string;
  let dir: string;
  let budgets: string;
  let slowRun: string;
  let sameRun: string;

  before(async () => {
    tdb = await createTestDatabase();
    f = await createGateFixture(tdb.pool);
    const head = await insertArtifact(f, { sizeBytes: 14_000_000 });
    const base = await insertArtifact(f, { sizeBytes: 14_000_000 });
    const paired = async (headUs: number, seed: number) => {
      const runId = await insertRun(f);
      const jobId = await insertJob(f, runId, { artifactId: head, baselineArtifactId: base });
      await insertSessions(f, { runId, jobId, artifactId: head, count: 6, medianUs: headUs, seed });
      await insertSessions(f, { runId, jobId, artifactId: base, role: 'baseline', count: 6, medianUs: 10_000, seed: seed + 1 });
      return runId;
    };
    slowRun = await paired(12_500, 1);
    sameRun = await paired(10_000, 3);
    const app = express();
    // As the api mounts it: behind authentication (here an admin caller) and the one error middleware.
    app.use((_req, res, next) => {
      res.locals.principal = { kind: 'admin', via: 'env' };
      next();
    });
    app.use(gateRoutes({ db: tdb.pool }));
    app.use(errorHandler(pino({ level: 'silent' }), 1 << 20));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(path.join(os.tmpdir(), 'pb-gate-'));
    budgets = path.join(dir, 'budgets.yml');
    await writeFile(budgets, MANDATE);
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
    await tdb?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function gate(runId: string, opts: Partial<GateCommandOptions> = {}) {
    let stdout = '';
    let stderr = '';
    const code = await runGate(runId, { budgets, ...opts }, {
      client: () => new ApiClient(url),
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    return { code, stdout, stderr };
  }

  it('exits 1 on a slower head, with the failing cell first in the markdown and a JUnit failure', async () => {
    const markdown = path.join(dir, 'gate.md');
    const junit = path.join(dir, 'gate.xml');
    const r = await gate(slowRun, { markdown, junit });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^gate FAIL for run /);
    const rows = (await readFile(markdown, 'utf8')).split('\n').filter((l) => l.startsWith('| '));
    assert.match(rows[1], /❌ fail \| .* \| regression \|/);
    assert.match(await readFile(junit, 'utf8'), /failures="1"/);
  });

  it('never exits 1 for the same artifact against itself; --json prints the result', async () => {
    const r = await gate(sameRun, { json: true });
    assert.notEqual(r.code, 1);
    assert.ok([0, 3].includes(r.code));
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.runId, sameRun);
    assert.equal(r.code, doc.verdict === 'pass' ? 0 : 3);
  });

  it('exits 2 with one sentence naming the line and field of a malformed budgets file, without calling the api', async () => {
    const bad = path.join(dir, 'bad.yml');
    await writeFile(bad, 'rules:\n  - match: { model: m }\n    p90_ms: fast\n');
    let called = false;
    let stderr = '';
    const code = await runGate(slowRun, { budgets: bad }, {
      client: () => {
        called = true;
        return new ApiClient(url);
      },
      stderr: (t) => (stderr += t),
    });
    assert.equal(code, 2);
    assert.equal(called, false);
    assert.equal(stderr, `pocketbench gate: the budgets file is invalid: ${bad}:3:13: rules[0].p90_ms: must be a positive number (got "fast").\n`);
  });

  it('exits 2 with one sentence for an unknown run, a run in progress, a missing file and an unreachable api', async () => {
    const unknown = await gate('00000000-0000-4000-8000-000000000000');
    assert.deepEqual([unknown.code, unknown.stderr], [2, `pocketbench gate: run 00000000-0000-4000-8000-000000000000 does not exist at ${url}.\n`]);
    const running = await insertRun(f, { status: 'running', jobsTotal: 3 });
    const inProgress = await gate(running);
    assert.equal(inProgress.code, 2);
    assert.match(inProgress.stderr, /^pocketbench gate: run \S+ is still running \(0 of 3 cells finished\); gate it when it is done\.\n$/);
    const missing = await gate(slowRun, { budgets: path.join(dir, 'nope.yml') });
    assert.match(missing.stderr, /cannot read the budgets file .*nope\.yml: no such file\.\n$/);
    assert.equal(missing.code, 2);
    let stderr = '';
    const code = await runGate(slowRun, { budgets }, { client: () => new ApiClient('http://127.0.0.1:9'), stderr: (t) => (stderr += t) });
    assert.equal(code, 2);
    assert.match(stderr, /cannot reach the pocketbench api at http:\/\/127\.0\.0\.1:9/);
  });

  it('registers with commander: options parsed, --budgets required', async () => {
    const program = new Command('pocketbench').exitOverride();
    let exitCode = -1;
    registerGateCommand(program, { client: () => new ApiClient(url), stdout: () => {}, stderr: () => {}, setExitCode: (c) => (exitCode = c) });
    for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {} });
    await program.parseAsync(['gate', slowRun, '--budgets', budgets, '--baseline-branch', 'main'], { from: 'user' });
    assert.equal(exitCode, 1);
    await assert.rejects(program.parseAsync(['gate', slowRun], { from: 'user' }), /required option '--budgets <file>' not specified/);
  });

  it('runs as `pocketbench gate` through the real CLI entry with its exit code', async function () {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['packages/cli/bin/pocketbench.mjs', 'gate', slowRun, '--budgets', budgets], {
        env: { ...process.env, POCKETBENCH_URL: url, POCKETBENCH_TOKEN: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(r.code, 1, r.stderr);
  });
});
