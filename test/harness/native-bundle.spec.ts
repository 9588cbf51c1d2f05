// The self-contained native harness bundle (device-agents/harness/native): its contract on
// x86_64, the aarch64 bundle in a chroot laid out like an Android phone (nothing but the bundle,
// Android's shell and the emulator), and the same fp32 model + seed giving the same top-5 on
// x86_64 and aarch64.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, linkSync, statSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { validateBenchReport, type BenchReport, type BenchSpec } from '@pocketbench/contracts';
import { ensureDigitsFixtures, runSession } from '@pocketbench/harness';
import { ensureNativeHarnessBundle, type NativeBundleManifest } from '@pocketbench/harness/bundle';
import { fixture, harnessFixtures, specFor } from './fixtures-support.js';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? { PATH: '/usr/bin:/bin' }, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Copies a tree, hard-linking files where the filesystem allows (the bundle is hundreds of MB). */
function linkTree(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dest, e.name);
    if (e.isDirectory()) linkTree(s, d);
    else {
      try {
        linkSync(s, d);
      } catch {
        copyFileSync(s, d);
        chmodSync(d, statSync(s).mode);
      }
    }
  }
}

const ARM_CPUINFO = (cores: number) =>
  Array.from({ length: cores }, (_, i) => `processor\t: ${i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n`).join('');

describe('native harness bundle (no node on the device)', function () {
  this.timeout(900_000);
  let dataDir: string;
  let work: string;
  let x86: { dir: string; version: string; manifest: NativeBundleManifest };
  let arm: { dir: string; version: string; manifest: NativeBundleManifest };

  before(async function () {
    this.timeout(3_600_000);
    const { config } = await harnessFixtures();
    dataDir = config.dataDir;
    // Built by scripts/setup.d/45-native-harness.sh; here it is only looked up (seconds).
    x86 = await ensureNativeHarnessBundle({ dataDir, arch: 'x86_64' });
    arm = await ensureNativeHarnessBundle({ dataDir, arch: 'aarch64' });
    // Under the data dir, so the bundle can be hard-linked into the chroot rather than copied.
    mkdirSync(path.join(dataDir, 'tmp'), { recursive: true });
    work = mkdtempSync(path.join(dataDir, 'tmp', 'native-bundle-'));
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('has a manifest the Android adapter can install from: entry, every file, size, runtimes', () => {
    for (const b of [x86, arm]) {
      const m = b.manifest;
      assert.equal(m.entry, 'pocketbench-harness');
      assert.equal(m.interpreter, 'sh');
      assert.ok(m.files.includes(m.entry));
      for (const f of m.files) assert.ok(existsSync(path.join(b.dir, f)), `${f} listed and present`);
      const total = m.files.reduce((n, f) => n + statSync(path.join(b.dir, f)).size, 0);
      assert.equal(m.sizeBytes, total, 'sizeBytes is the exact sum of the files');
      assert.match(m.runtimes.onnxruntime ?? '', /^1\.\d+\.\d+$/);
      assert.match(m.runtimes['pytorch-lite'] ?? '', /^1\.13/);
      assert.ok(m.files.some((f) => /^lib\/ld-linux-(aarch64|x86-64)\.so\./.test(f)), 'carries its own dynamic loader');
    }
    assert.equal(arm.manifest.arch, 'aarch64');
    assert.equal(x86.manifest.arch, 'x86_64');
  });

  it('x86_64: same BenchSpec in, same BenchReport out, for both runtimes, from any directory', async () => {
    const { fixtures } = await harnessFixtures();
    for (const [name, variant, format] of [['tiny_cnn', 'fp32', 'onnx'], ['mobilenet_v2', 'int8-static', 'ptl']] as const) {
      const m = fixture(fixtures, name, variant, format);
      const specFile = path.join(work, `x86-${name}-${format}.json`);
      const out = path.join(work, `x86-${name}-${format}.report.json`);
      writeFileSync(specFile, JSON.stringify(specFor(m, { labels: { run: 'r1' } })));
      const r = await run('sh', [path.join(x86.dir, 'pocketbench-harness'), 'run', '--spec', specFile, '--out', out], { cwd: '/' });
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
      const v = validateBenchReport(report);
      assert.ok(v.ok, v.ok ? '' : v.errors.join('; '));
      assert.equal(report.status, 'ok');
      assert.equal(report.harness.version, x86.version);
      assert.equal(report.backend.used, 'cpu');
      assert.equal(report.model?.sizeBytes, m.sizeBytes);
      assert.equal(report.timing?.iterationsUs.length, 3);
      assert.equal(report.memory?.method, 'VmHWM');
      assert.ok((report.memory?.pssBytes ?? 0) > 0, 'PSS from smaps_rollup, labelled');
      assert.deepEqual(report.labels, { run: 'r1' });
      const detail = report.runtime.detail as Record<string, unknown>;
      if (format === 'onnx') assert.deepEqual(detail.executionProviders, ['CPUExecutionProvider']);
      else {
        assert.ok((detail.quantizedOps as string[]).length > 0, 'int8-static runs quantized ops');
        // The engine that ran, from the library: x86_64's libtorch has QNNPACK.
        assert.equal(detail.qengine, (detail.supportedQEngines as string[]).includes('QNNPACK') ? 'qnnpack' : 'onednn');
        assert.equal(detail.xnnpackAvailable, true);
      }
    }
  });

  it('x86_64: a fidelity pass on seeded inputs gives what the Node harness gives (same samples, outputs and agreement); an eval set is left to the Node harness', async () => {
    const { config } = await harnessFixtures();
    const fx = await ensureDigitsFixtures(config.dataDir);
    const digits = (name: string, variant: string, format: string) => fx.models.find((m) => m.name === name && m.variant === variant && m.format === format)!;
    const native = async (spec: BenchSpec, label: string): Promise<BenchReport> => {
      const specFile = path.join(work, `fid-${label}.json`);
      const out = path.join(work, `fid-${label}.report.json`);
      writeFileSync(specFile, JSON.stringify(spec));
      const r = await run('sh', [path.join(x86.dir, 'pocketbench-harness'), 'run', '--spec', specFile, '--out', out], { cwd: '/' });
      const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
      const v = validateBenchReport(report);
      assert.ok(v.ok, v.ok ? '' : v.errors.join('; '));
      assert.equal(r.code, report.status === 'ok' ? 0 : report.status === 'unsupported' ? 3 : 2, r.stderr);
      return report;
    };
    // The reference: the fp32 .ptl, its outputs written by the native harness (the worker writes them with the Node harness).
    const refFile = path.join(work, 'fid-reference.f32');
    const fidelity = { inputs: 16, seed: 77 };
    const ref = await native(specFor(digits('digits_cnn', 'fp32', 'ptl'), { iterations: 2, warmup: 0, fidelity: { ...fidelity, outputsPath: refFile } }), 'reference');
    assert.equal(ref.status, 'ok', ref.error?.message);
    assert.equal(readFileSync(refFile).length, 16 * 10 * 4);
    const reference = { path: refFile, sha256: createHash('sha256').update(readFileSync(refFile)).digest('hex'), outputs: [{ shape: [1, 10] }] };
    const agreement = new Map<string, number>();
    for (const m of [digits('digits_cnn', 'int8-static', 'ptl'), digits('digits_cnn', 'fp32', 'onnx'), digits('digits_cnn_wrong', 'fp32', 'onnx')]) {
      const spec = specFor(m, { iterations: 2, warmup: 0, fidelity: { ...fidelity, reference } });
      const mine = await native(spec, `${m.name}-${m.variant}-${m.format}`);
      const node = await runSession(spec, { config });
      assert.equal(mine.status, 'ok', mine.error?.message);
      assert.equal(node.status, 'ok', node.error?.message);
      const [a, b] = [mine.fidelity!, node.fidelity!];
      assert.equal(a.inputDigest, b.inputDigest, 'the same seeded samples');
      assert.equal(a.referenceDigest, b.referenceDigest);
      assert.deepEqual([a.seededInputs, a.evalSamples, a.seed, a.outputs], [b.seededInputs, b.evalSamples, b.seed, b.outputs]);
      const [x, y] = [a.agreement![0], b.agreement![0]];
      assert.deepEqual([x.rows, x.top1Agree, x.top1AgreementPct, x.top5OverlapPct], [y.rows, y.top1Agree, y.top1AgreementPct, y.top5OverlapPct], `${m.name} ${m.variant} ${m.format}`);
      for (const k of ['cosine', 'cosineMin', 'maxAbsError'] as const) assert.ok(Math.abs(x[k] - y[k]) <= 1e-6 * Math.max(1, Math.abs(y[k])), `${k}: ${x[k]} vs ${y[k]}`);
      agreement.set(`${m.name}-${m.variant}-${m.format}`, x.top1AgreementPct);
    }
    // Meaningful figures, not just equal ones: the trained model's variants agree, its wrong twin does not.
    assert.ok(agreement.get('digits_cnn-int8-static-ptl')! >= 80 && agreement.get('digits_cnn-fp32-onnx')! >= 99, JSON.stringify([...agreement]));
    assert.ok(agreement.get('digits_cnn_wrong-fp32-onnx')! < 60, JSON.stringify([...agreement]));
    // A reference of the wrong length is the spec's fault, named before the model runs.
    const short = path.join(work, 'fid-short.f32');
    writeFileSync(short, readFileSync(refFile).subarray(0, 40));
    const bad = await native(specFor(digits('digits_cnn', 'fp32', 'onnx'), { iterations: 2, warmup: 0, fidelity: { ...fidelity, reference: { ...reference, path: short, sha256: createHash('sha256').update(readFileSync(short)).digest('hex') } } }), 'short');
    assert.equal(bad.status, 'error');
    assert.equal(bad.error?.class, 'bad_spec');
    assert.match(bad.error!.message, /reference outputs hold 40 bytes; 16 samples of outputs \[1, 10\] need 640/);
    const withEval = await native(specFor(digits('digits_cnn', 'fp32', 'onnx'), { iterations: 2, warmup: 0, fidelity: { ...fidelity, evalSet: { path: fx.evalSet.path, sha256: fx.evalSet.sha256 } } }), 'eval');
    assert.equal(withEval.status, 'unsupported');
    assert.match(withEval.backend.reason ?? '', /eval set/);
  });

  it('x86_64: hashes a model once per content; a model changed in place is hashed again and refused', async () => {
    const { fixtures } = await harnessFixtures();
    const m = fixture(fixtures, 'tiny_cnn', 'fp32', 'onnx');
    const model = path.join(work, 'rehash.onnx');
    copyFileSync(m.path, model);
    const tmp = path.join(work, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const specFile = path.join(work, 'rehash.json');
    writeFileSync(specFile, JSON.stringify({ ...specFor(m), artifact: { ...specFor(m).artifact, path: model } }));
    const once = async () => {
      const out = path.join(work, 'rehash.report.json');
      await run('sh', [path.join(x86.dir, 'pocketbench-harness'), 'run', '--spec', specFile, '--out', out], { env: { PATH: '/usr/bin:/bin', TMPDIR: tmp } });
      return JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
    };
    assert.equal((await once()).status, 'ok');
    const cache = readdirSync(tmp).find((n) => n.startsWith('pocketbench-sha256-'));
    assert.ok(cache, 'the digest is kept in the scratch parent');
    assert.equal(readdirSync(path.join(tmp, cache)).length, 1);
    assert.equal((await once()).model?.sha256, m.sha256, 'the kept digest, for the unchanged file');
    // Same size, other bytes: only the file's change time says so.
    const bytes = readFileSync(model);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(model, bytes);
    const changed = await once();
    assert.equal(changed.error?.class, 'model_hash_mismatch', JSON.stringify(changed.error));
  });

  it('x86_64: bad input still yields a valid report with the right class and exit code', async () => {
    const { fixtures } = await harnessFixtures();
    const m = fixture(fixtures, 'tiny_cnn', 'fp32', 'onnx');
    const cases: [Partial<BenchSpec> | string, string, number][] = [
      ['{not json', 'bad_spec', 2],
      [{ artifact: { ...specFor(m).artifact, sha256: '0'.repeat(64) } }, 'model_hash_mismatch', 2],
      [{ artifact: { ...specFor(m).artifact, path: '/nonexistent/model.onnx' } }, 'model_missing', 2],
      [{ inputs: [{ name: 'wrong', shape: [1, 3, 32, 32], dtype: 'float32' }] }, 'input_mismatch', 2],
      // Named from the model's declared inputs before running, not from ONNX Runtime's error text.
      [{ inputs: [{ name: 'input', shape: [1, 3, 16, 16], dtype: 'float32' }] }, 'input_mismatch', 2],
      [{ inputs: [{ name: 'input', shape: [1, 3, 32, 32], dtype: 'int64' }] }, 'input_mismatch', 2],
      [{ threads: 0 }, 'bad_spec', 2],
      [{ backend: 'nnapi' }, 'unsupported', 3],
    ];
    for (const [i, [over, cls, code]] of cases.entries()) {
      const specFile = path.join(work, `bad-${i}.json`);
      const out = path.join(work, `bad-${i}.report.json`);
      writeFileSync(specFile, typeof over === 'string' ? over : JSON.stringify({ ...specFor(m), ...over }));
      const r = await run('sh', [path.join(x86.dir, 'pocketbench-harness'), 'run', '--spec', specFile, '--out', out]);
      assert.equal(r.code, code, `${cls}: ${r.stderr}`);
      const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
      assert.ok(validateBenchReport(report).ok, `${cls}: report validates`);
      if (cls === 'unsupported') {
        assert.equal(report.status, 'unsupported');
        assert.match(report.backend.reason ?? '', /NNAPI.*Android NDK/);
      } else assert.equal(report.error?.class, cls, report.error?.message);
    }
  });

  it('aarch64 in a chroot laid out like a phone: only the bundle, Android\'s sh and the emulator; no /lib, no /usr', async function () {
    const mksh = path.join(dataDir, 'cross', 'mksh-arm64', 'sh');
    assert.ok(existsSync(mksh), `${mksh} missing: scripts/setup.d/45-native-harness.sh unpacks it`);
    const qemu = (await run('sh', ['-c', 'command -v qemu-aarch64-static'])).stdout.trim();
    assert.ok(qemu, 'qemu-aarch64-static (Debian qemu-user-static) is needed');
    const root = path.join(work, 'phone');
    const home = path.join(root, 'data/local/tmp/pocketbench');
    linkTree(arm.dir, path.join(home, 'harness'));
    mkdirSync(path.join(root, 'system/bin'), { recursive: true });
    copyFileSync(mksh, path.join(root, 'system/bin/sh'));
    chmodSync(path.join(root, 'system/bin/sh'), 0o755);
    copyFileSync(qemu, path.join(root, 'system/bin/qemu-aarch64-static'));
    chmodSync(path.join(root, 'system/bin/qemu-aarch64-static'), 0o755);
    for (const d of ['proc', 'sys', 'dev', 'data/local/tmp/pocketbench/models', 'data/local/tmp/pocketbench/runs']) mkdirSync(path.join(root, d), { recursive: true });
    writeFileSync(path.join(root, 'dev/null'), '');
    // A phone's /proc/cpuinfo describes its ARM cores; qemu-user 7.2 passes the x86 host's through,
    // on which the cpuinfo library inside libtorch and ONNX Runtime finds no ARM core. The chroot
    // gets what a Cortex-A72 phone shows (as the qemu-arm64 device's root does).
    writeFileSync(path.join(work, 'cpuinfo'), ARM_CPUINFO(2));
    assert.deepEqual(readdirSync(root).sort(), ['data', 'dev', 'proc', 'sys', 'system']);

    const { fixtures } = await harnessFixtures();
    const cells = [fixture(fixtures, 'mobilenet_v2', 'int8-static', 'ptl'), fixture(fixtures, 'tiny_cnn', 'fp32', 'onnx')];
    const script: string[] = [
      'set -e',
      `mount -t proc proc ${root}/proc`,
      `mount --bind ${work}/cpuinfo ${root}/proc/cpuinfo`,
      `mount --bind /dev/null ${root}/dev/null`,
      `mount -t sysfs sysfs ${root}/sys || mount --rbind /sys ${root}/sys`,
    ];
    for (const [i, m] of cells.entries()) {
      const model = `/data/local/tmp/pocketbench/models/${m.sha256}.${m.format}`;
      copyFileSync(m.path, path.join(root, model));
      writeFileSync(path.join(root, `data/local/tmp/pocketbench/runs/spec-${i}.json`), JSON.stringify(specFor(m, { artifact: { path: model, sha256: m.sha256, format: m.format }, iterations: 2, warmup: 1, timeBudgetSec: 600 })));
      // From another directory, through a relative path, with the phone's shell: as `adb shell` would.
      script.push(`chroot ${root} /system/bin/sh -c 'PATH=/system/bin; export PATH; cd /data/local && sh tmp/pocketbench/harness/pocketbench-harness run --spec /data/local/tmp/pocketbench/runs/spec-${i}.json --out /data/local/tmp/pocketbench/runs/report-${i}.json; echo exit=$?'`);
    }
    // A private mount namespace: the mounts vanish with it, nothing is left on the machine.
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script.join('\n')], { timeoutMs: 900_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(r.stdout.trim().split('\n').filter((l) => l.startsWith('exit=')), ['exit=0', 'exit=0'], r.stderr);
    for (const [i, m] of cells.entries()) {
      const report = JSON.parse(readFileSync(path.join(root, `data/local/tmp/pocketbench/runs/report-${i}.json`), 'utf8')) as BenchReport;
      const v = validateBenchReport(report);
      assert.ok(v.ok, v.ok ? '' : v.errors.join('; '));
      assert.equal(report.status, 'ok', JSON.stringify(report.error ?? report.backend));
      assert.equal(report.host.arch, 'aarch64');
      assert.equal(report.host.cpuModel, 'ARM Cortex-A72');
      assert.equal(report.harness.version, arm.version);
      assert.equal(report.model?.sha256, m.sha256);
      assert.equal(report.backend.used, 'cpu');
      assert.ok((report.memory?.peakRssBytes ?? 0) > 0);
      assert.match(String((report.runtime.detail as Record<string, unknown>).runner), /aarch64/);
    }
    assert.ok(!existsSync(path.join(root, 'lib')) && !existsSync(path.join(root, 'usr')), 'the chroot never had /lib or /usr');
  });

  it('the same fp32 model and seed give the same top-5 on x86_64 and aarch64 (emulated), with non-degenerate logits', async () => {
    const { fixtures } = await harnessFixtures();
    for (const format of ['ptl', 'onnx'] as const) {
      const m = fixture(fixtures, 'mobilenet_v2', 'fp32', format);
      const spec = specFor(m, { warmup: 0, iterations: 1, seed: 11, output: { topK: 5 }, timeBudgetSec: 600 });
      const top: number[][] = [];
      const digests: string[] = [];
      for (const b of [x86, arm]) {
        const specFile = path.join(work, `xarch-${format}-${b.manifest.arch}.json`);
        const out = path.join(work, `xarch-${format}-${b.manifest.arch}.report.json`);
        writeFileSync(specFile, JSON.stringify(spec));
        // The aarch64 bundle runs through binfmt_misc's qemu-aarch64; its /proc/cpuinfo is the
        // qemu-arm64 device's (QEMU_LD_PREFIX), for the reason given in the chroot test.
        const env: Record<string, string> = { PATH: '/usr/bin:/bin', ...(b === arm ? { QEMU_LD_PREFIX: path.join(dataDir, 'qemu-arm64', 'rootfs') } : {}) };
        const r = await run('sh', [path.join(b.dir, 'pocketbench-harness'), 'run', '--spec', specFile, '--out', out], { env, timeoutMs: 600_000 });
        assert.equal(r.code, 0, r.stderr);
        const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
        assert.equal(report.host.arch, b.manifest.arch);
        top.push(report.output!.topK);
        digests.push(report.output!.inputDigest);
      }
      assert.equal(digests[0], digests[1], 'both fed the same generated input');
      assert.equal(top[0].length, 5);
      assert.deepEqual(top[1], top[0], `${format}: top-5 x86_64 ${top[0]} vs aarch64 ${top[1]}`);
      assert.ok(new Set(top[0]).size === 5 && top[0].some((v, i) => v !== i), `${format}: a real ranking, not the first five indices of constant logits`);
    }
  });
});
