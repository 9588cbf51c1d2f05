import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelNameFor, variantFromFileName } from '../../packages/cli/src/commands/submit.js';
import { normalizeResults, renderTable } from '../../packages/cli/src/render/results.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'packages/cli/src/main.ts');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, POCKETBENCH_TOKEN: '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('cli: pocketbench', function () {
  this.timeout(60_000);

  it('has helpful --help for every command', async () => {
    const top = await run(['--help']);
    assert.equal(top.code, 0);
    for (const cmd of ['up', 'worker', 'submit', 'status', 'results', 'devices', 'migrate', 'token']) assert.match(top.stdout, new RegExp(`\\n  ${cmd}\\b`));
    assert.match(top.stdout, /Exit codes/);
    const submit = await run(['submit', '--help']);
    for (const opt of ['--devices', '--backends', '--iterations', '--warmup', '--sessions', '--threads', '--baseline', '--commit', '--branch', '--merge-base', '--wait', '--json']) {
      assert.ok(submit.stdout.includes(opt), `submit --help mentions ${opt}`);
    }
    assert.match(submit.stdout, /"host" is\s+this machine's pool|"host" is this machine's pool/);
  });

  it('bad input gets one clear sentence and exit code 2', async () => {
    const zero = await run(['submit', 'x.onnx', '--iterations', '0']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--iterations must be a positive integer, got "0"/);
    const missing = await run(['submit', 'no-such-model.onnx']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no-such-model\.onnx: no such file/);
    // Checked before the upload: an api that is not there is never asked (else this would be exit 3).
    const backend = await run(['submit', 'package.json', '--backends', 'cpu,nnpai'], { POCKETBENCH_URL: 'http://127.0.0.1:9' });
    assert.equal(backend.code, 2);
    assert.equal(backend.stderr.trim(), 'pocketbench: --backends: "nnpai" is not a backend; expected one of cpu, xnnpack, vulkan, nnapi, coreml');
    const variant = await run(['submit', 'package.json', '--variant', 'int8'], { POCKETBENCH_URL: 'http://127.0.0.1:9' });
    assert.equal(variant.code, 2);
    assert.match(variant.stderr, /--variant: "int8" is not a variant; expected one of fp32, fp16, int8-dynamic, int8-static/);
    const unknown = await run(['frobnicate']);
    assert.equal(unknown.code, 2);
    const url = await run(['devices'], { POCKETBENCH_URL: 'not a url' });
    assert.equal(url.code, 2);
    assert.match(url.stderr, /POCKETBENCH_URL is not a valid URL/);
  });

  it('an api that is not there: exit 3 naming the URL', async () => {
    const r = await run(['status', 'abc'], { POCKETBENCH_URL: 'http://127.0.0.1:9' });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /cannot reach the pocketbench api at http:\/\/127\.0\.0\.1:9/);
  });

  describe('against an http server answering with the api\'s error shape', () => {
    let server: Server;
    let url: string;
    before(async () => {
      server = createServer((req, res) => {
        res.writeHead(req.url?.includes('/runs/') ? 404 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'x', message: req.url?.includes('/runs/') ? 'run abc does not exist' : 'missing bearer token' } }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('prints the api\'s message and exits 2 on a 4xx', async () => {
      const r = await run(['results', 'abc'], { POCKETBENCH_URL: url });
      assert.equal(r.code, 2);
      assert.equal(r.stderr.trim(), 'pocketbench: run abc does not exist');
      const d = await run(['devices'], { POCKETBENCH_URL: url });
      assert.equal(d.code, 2);
      assert.match(d.stderr, /missing bearer token/);
    });
  });

  it('renders a cell table with p50/p90/p99, load, RSS, size, backend used and arch', () => {
    const results = normalizeResults({
      id: 'r1',
      status: 'done',
      cells: [
        {
          cellIndex: 0, jobId: 'r1.0', backend: 'cpu', pool: 'host-x86_64', deviceId: null, status: 'done', reason: null,
          artifact: { id: 'a', model: 'mobilenet_v2', variant: 'fp32', format: 'onnx', sha256: 'x', sizeBytes: 14_000_000 },
          figures: { sessions: 1, iterations: 50, p50Ms: 7.25, p90Ms: 8.5, p99Ms: 9.75, loadMs: 120.4, peakRssBytes: 150 * 1024 * 1024, modelSizeBytes: 14 * 1024 * 1024, backendUsed: 'cpu', deviceArch: 'x86_64' },
          baseline: null,
        },
        { cellIndex: 1, jobId: 'r1.1', backend: 'nnapi', pool: 'host-x86_64', status: 'unsupported', reason: 'no device in pool host-x86_64 supports backend nnapi', artifact: { model: 'mobilenet_v2', variant: 'fp32', sizeBytes: 14_000_000 }, figures: null, baseline: null },
        { cellIndex: 2, jobId: 'r1.2', backend: 'cpu', pool: 'qemu-arm64', emulated: true, status: 'queued', artifact: { model: 'mobilenet_v2', variant: 'fp32' }, figures: null, baseline: null },
      ],
    });
    const text = renderTable(results);
    assert.match(text, /mobilenet_v2 fp32\s+cpu\s+host-x86_64\s+done\s+7\.250\s+8\.500\s+9\.750\s+120\.4\s+150\.0\s+14\.00\s+cpu\s+x86_64\s+50/);
    assert.match(text, /cell 1 unsupported: no device in pool host-x86_64 supports backend nnapi/);
    // The api's `emulated` flag labels the pool; a physical pool is not labelled.
    assert.match(text, /cpu\s+qemu-arm64 \(emulated\)\s+queued/);
    assert.doesNotMatch(text, /host-x86_64 \(emulated\)/);
  });

  it('says what ran: devices, runtime and version, the GPU adapter, the harness and the exact model size', () => {
    const results = normalizeResults({
      id: 'r3',
      status: 'done',
      cells: [{
        cellIndex: 0, jobId: 'r3.0', backend: 'vulkan', pool: 'host-x86_64', deviceId: null, status: 'done', reason: null,
        artifact: { id: 'a', model: 'mobilenet_v2', variant: 'fp32', format: 'onnx', sha256: 'x', sizeBytes: 14_000_000 },
        figures: { sessions: 2, iterations: 40, p50Ms: 190, backendUsed: 'vulkan', deviceArch: 'x86_64', modelSizeBytes: 13_973_409,
          deviceIds: ['host-vm'], runtime: 'onnxruntime', runtimeVersion: '1.30.0', gpuAdapter: 'llvmpipe (LLVM 15.0.6, 256 bits) (cpu)', harness: 'pocketbench-native-harness 0.1.0-native+abc' },
        baseline: null,
      }],
    });
    const [c] = results.cells;
    assert.deepEqual(c.devices, ['host-vm']);
    assert.equal(c.runtime, 'onnxruntime 1.30.0');
    assert.equal(c.sizeBytes, 13_973_409);
    assert.match(renderTable(results), /^cell 0 ran: onnxruntime 1\.30\.0 · on host-vm · GPU adapter llvmpipe \(LLVM 15\.0\.6, 256 bits\) \(cpu\) — a CPU \(software Vulkan\), not a GPU · harness pocketbench-native-harness 0\.1\.0-native\+abc · model 13973409 bytes$/m);
  });
  it('takes the model and variant from a file name ending in a variant (the fixtures\' names)', () => {
    assert.equal(modelNameFor('/x/mobilenet_v2-int8-static.ptl'), 'mobilenet_v2');
    assert.equal(variantFromFileName('/x/mobilenet_v2-int8-static.ptl'), 'int8-static');
    assert.equal(modelNameFor('mobilenet_v2-fp32.onnx'), 'mobilenet_v2');
    assert.equal(variantFromFileName('mobilenet_v2-fp32.onnx'), 'fp32');
    assert.equal(modelNameFor('Head Model.ptl'), 'head-model');
    assert.equal(variantFromFileName('head.ptl'), undefined);
    // "int8" alone is no variant: it stays in the name.
    assert.equal(modelNameFor('resnet-int8.onnx'), 'resnet-int8');
    assert.equal(variantFromFileName('resnet-int8.onnx'), undefined);
  });

  it('labels an A/B cell\'s baseline row with the baseline\'s own artifact, not the head\'s', () => {
    const results = normalizeResults({
      id: 'r2',
      status: 'done',
      cells: [{
        cellIndex: 0, jobId: 'r2.0', backend: 'cpu', pool: 'host-x86_64', deviceId: 'host-vm', status: 'done', reason: null,
        artifact: { id: 'h', model: 'mobilenet_v2', variant: 'int8-static', format: 'ptl', sizeBytes: 3_625_488 },
        baselineArtifact: { id: 'b', model: 'mobilenet_v2', variant: 'int8-dynamic', format: 'ptl', sizeBytes: 10_163_122 },
        figures: { sessions: 6, iterations: 120, p50Ms: 21.9, backendUsed: 'cpu', deviceArch: 'x86_64' },
        baseline: { sessions: 6, iterations: 120, p50Ms: 15.9, backendUsed: 'cpu', deviceArch: 'x86_64' },
      }],
    });
    const [head, base] = results.cells;
    assert.equal(head.role, 'head');
    assert.equal(head.variant, 'int8-static');
    assert.equal(base.role, 'baseline');
    assert.equal(base.variant, 'int8-dynamic');
    assert.equal(base.sizeMb?.toFixed(2), (10_163_122 / (1024 * 1024)).toFixed(2));
    assert.match(renderTable(results), /0 \(baseline\)\s+mobilenet_v2 int8-dynamic/);
  });
  it('says unstable when every session of a cell was unstable (the dashboard excludes them)', () => {
    const results = normalizeResults({
      id: 'r3', status: 'done',
      cells: [{ cellIndex: 0, jobId: 'r3.0', backend: 'cpu', pool: 'host-x86_64', status: 'done', reason: null,
        artifact: { model: 'tiny_cnn', variant: 'fp32', format: 'onnx', sizeBytes: 7000 },
        figures: { sessions: 1, sessionsUnstable: 1, iterations: 20, p50Ms: 0.075, lastError: 'unstable: robust CV 17.4 % exceeds the cap of 10.0 %' }, baseline: null }],
    });
    assert.equal(results.cells[0].status, 'unstable');
    assert.match(renderTable(results), /tiny_cnn fp32\s+cpu\s+host-x86_64\s+unstable/);
    assert.match(renderTable(results), /^cell 0 unstable: robust CV 17\.4 %/m);
  });
});
