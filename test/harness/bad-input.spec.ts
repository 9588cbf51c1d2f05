import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateBenchReport, type BenchReport, type BenchSpec } from '@pocketbench/contracts';
import { runSession, type HarnessConfig } from '@pocketbench/harness';
import { fixture, harnessFixtures, specFor } from './fixtures-support.js';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function assertReport(r: BenchReport, status: BenchReport['status'], errorClass?: string): void {
  const v = validateBenchReport(r);
  assert.ok(v.ok, !v.ok ? v.errors.join('; ') : '');
  assert.equal(r.status, status, `${r.status}: ${r.error?.message ?? r.backend.reason}`);
  if (errorClass) assert.equal(r.error?.class, errorClass, r.error?.message);
  if (status !== 'ok') assert.equal(r.backend.used, null);
}

/** Processes whose command line mentions `needle` (a path unique to one test). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) pids.push(Number(pid));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

describe('harness bad input: a report with a class, never a hang or a fallback', function () {
  this.timeout(300_000);
  let config: HarnessConfig;
  let dir: string;
  let onnx: ReturnType<typeof fixture>;
  let ptl: ReturnType<typeof fixture>;

  before(async function () {
    const f = await harnessFixtures();
    config = f.config;
    onnx = fixture(f.fixtures, 'tiny_cnn', 'fp32', 'onnx');
    ptl = fixture(f.fixtures, 'tiny_cnn', 'fp32', 'ptl');
    dir = mkdtempSync(path.join(os.tmpdir(), 'pocketbench-bad-input-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A spec for a damaged copy of a fixture, with the damaged file's own hash (so the load is what fails). */
  function damaged(m: typeof onnx, name: string, damage: (bytes: Buffer) => Buffer): BenchSpec {
    const file = path.join(dir, name);
    writeFileSync(file, damage(readFileSync(m.path)));
    return specFor(m, { artifact: { path: file, sha256: sha256(file), format: m.format } });
  }

  for (const which of ['onnx', 'ptl'] as const) {
    const m = () => (which === 'onnx' ? onnx : ptl);

    it(`${which}: a corrupt model is model_load`, async function () {
      const spec = damaged(m(), `corrupt.${which}`, (b) => {
        const c = Buffer.from(b);
        // Overwrite the middle with noise: header intact, content garbage.
        for (let i = Math.floor(c.length / 4); i < Math.floor((3 * c.length) / 4); i++) c[i] = (i * 131) & 0xff;
        return c;
      });
      assertReport(await runSession(spec, { config }), 'error', 'model_load');
    });

    it(`${which}: a truncated model is model_load`, async function () {
      const spec = damaged(m(), `truncated.${which}`, (b) => b.subarray(0, Math.floor(b.length / 2)));
      assertReport(await runSession(spec, { config }), 'error', 'model_load');
    });

    it(`${which}: a wrong input shape is input_mismatch`, async function () {
      const shape = which === 'onnx' ? [1, 3, 16, 16] : [1, 3, 32];
      const r = await runSession(specFor(m(), { inputs: [{ name: 'input', shape, dtype: 'float32' }] }), { config });
      assertReport(r, 'error', 'input_mismatch');
    });

    it(`${which}: a missing file is model_missing`, async function () {
      const spec = specFor(m(), { artifact: { path: path.join(dir, `nope.${which}`), sha256: m().sha256, format: m().format } });
      const r = await runSession(spec, { config });
      assertReport(r, 'error', 'model_missing');
      assert.match(r.error!.message, /nope/);
    });

    it(`${which}: a hash that does not match is model_hash_mismatch`, async function () {
      const r = await runSession(specFor(m(), { artifact: { path: m().path, sha256: '0'.repeat(64), format: m().format } }), { config });
      assertReport(r, 'error', 'model_hash_mismatch');
    });
  }

  it('an unknown backend is bad_spec naming the field', async function () {
    const r = await runSession({ ...specFor(onnx), backend: 'tpu' }, { config });
    assertReport(r, 'error', 'bad_spec');
    assert.match(r.error!.message, /\/backend/);
  });

  it('a malformed spec is bad_spec naming every bad field', async function () {
    const r = await runSession({ ...specFor(onnx), iterations: 0, inputs: [{ name: 'input', shape: [1, 3], dtype: 'float16' }] }, { config });
    assertReport(r, 'error', 'bad_spec');
    assert.match(r.error!.message, /\/iterations/);
    assert.match(r.error!.message, /\/inputs\/0\/dtype/);
  });

  it('a format the runtime cannot read is bad_spec', async function () {
    const r = await runSession(specFor(onnx, { runtime: 'pytorch-lite' }), { config });
    assertReport(r, 'error', 'bad_spec');
  });

  for (const [runtime, backend] of [['onnxruntime', 'nnapi'], ['onnxruntime', 'coreml'], ['onnxruntime', 'xnnpack'], ['pytorch-lite', 'vulkan'], ['pytorch-lite', 'nnapi']] as const) {
    it(`${runtime} on ${backend} is unsupported with the reason, not run elsewhere`, async function () {
      const m = runtime === 'onnxruntime' ? onnx : ptl;
      const r = await runSession(specFor(m, { backend }), { config });
      assertReport(r, 'unsupported');
      assert.ok(r.backend.reason && r.backend.reason.length > 10);
      assert.equal(r.timing, undefined);
    });
  }

  it('.ptl where the bundle has no ptl-runner for this arch is unsupported (the emulated aarch64 device), not a device fault', async function () {
    const missing = path.join(dir, 'native', 'no-such-arch', 'ptl-runner');
    const r = await runSession(specFor(ptl), { config: { ...config, ptlRunnerPath: missing, ptlRunnerBundled: true } });
    assertReport(r, 'unsupported');
    assert.match(r.backend.reason!, /pytorch-lite is not built for/);
  });

  it('.ptl with a missing runner outside a bundle is an internal error saying how to build it', async function () {
    const missing = path.join(dir, 'no-such-runner');
    const r = await runSession(specFor(ptl), { config: { ...config, ptlRunnerPath: missing, ptlRunnerBundled: false } });
    assertReport(r, 'error', 'internal');
    assert.match(r.error!.message, /build\.sh/);
  });

  it('vulkan without a Vulkan device is unsupported (loader finds no driver)', async function () {
    const noVulkan = { ...config, childEnv: { ...config.childEnv, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' } };
    const r = await runSession(specFor(onnx, { backend: 'vulkan' }), { config: noVulkan });
    assertReport(r, 'unsupported');
    assert.match(r.backend.reason!, /Vulkan/);
  });

  it('vulkan where ONNX Runtime itself gets no WebGPU adapter is unsupported', async function () {
    // vulkaninfo (a stand-in printing a device) says yes; the runner's loader then finds no driver,
    // so the refusal comes from ONNX Runtime's WebGPU provider itself.
    const fake = path.join(dir, 'vulkaninfo');
    writeFileSync(fake, '#!/bin/sh\nprintf "Devices:\\n========\\nGPU0:\\n\\tdeviceName = stand-in\\n\\tdeviceType = PHYSICAL_DEVICE_TYPE_CPU\\n"\n');
    chmodSync(fake, 0o755);
    const cfg = { ...config, vulkaninfoPath: fake, childEnv: { ...config.childEnv, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' } };
    const r = await runSession(specFor(onnx, { backend: 'vulkan' }), { config: cfg });
    assertReport(r, 'unsupported');
    assert.match(r.backend.reason!, /adapter/i);
  });

  for (const which of ['onnx', 'ptl'] as const) {
    it(`${which}: an exceeded time budget is timeout, within the budget, with the runner gone`, async function () {
      const m = which === 'onnx' ? onnx : ptl;
      const copy = path.join(dir, `budget-${which}-${Date.now()}.${which}`);
      copyFileSync(m.path, copy);
      const started = Date.now();
      const r = await runSession(specFor(m, { artifact: { path: copy, sha256: m.sha256, format: m.format }, iterations: 1_000_000, timeBudgetSec: 2 }), { config });
      const elapsed = Date.now() - started;
      assertReport(r, 'error', 'timeout');
      assert.ok(elapsed < 4000, `took ${elapsed} ms for a 2 s budget`);
      assert.deepEqual(processesMentioning(copy), []);
    });
  }
});

describe('harness scratch directories', function () {
  this.timeout(120_000);
  it('removes the scratch of a harness that was killed mid-session, and leaves none of its own', async function () {
    const { config, fixtures } = await harnessFixtures();
    const parent = mkdtempSync(path.join(os.tmpdir(), 'pocketbench-scratch-'));
    try {
      // pid 2^22 + 1 is above Linux's pid_max ceiling: no such process can be alive.
      const orphan = path.join(parent, `pocketbench-session-${4194305}-abc`);
      const live = path.join(parent, `pocketbench-session-${process.ppid}-def`);
      for (const d of [orphan, live]) {
        mkdirSync(d);
        writeFileSync(path.join(d, 'input-0.bin'), 'x');
      }
      const r = await runSession(specFor(fixture(fixtures, 'tiny_cnn', 'fp32', 'onnx')), { config, scratchDir: parent });
      assert.equal(r.status, 'ok');
      assert.deepEqual(readdirSync(parent).sort(), [path.basename(live)]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
