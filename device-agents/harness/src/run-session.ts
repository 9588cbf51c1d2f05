import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile, access, constants } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  validateBenchReport,
  validateBenchSpec,
  type BenchErrorClass,
  type BenchReport,
  type BenchSpec,
  type DeviceSnapshot,
  type HostFacts,
} from '@pocketbench/contracts';
import { FORMAT_FOR_RUNTIME, UNSUPPORTED_REASONS } from './backend-support.js';
import type { HarnessConfig } from './config.js';
import { readDeviceSnapshot, readHostFacts } from './device-snapshot.js';
import { FidelityError, fidelityReport, prepareFidelity, type PreparedFidelity } from './fidelity.js';
import { onnxRunnerCommand } from './onnx/onnx-runner.js';
import { describeOutput } from './output-digest.js';
import { PTL_ALLOCATOR_ENV, ptlRunnerCommand } from './ptl/ptl-runner.js';
import type { RunnerRequest } from './runner-protocol.js';
import { runRunnerProcess } from './runner-process.js';
import { generateInput, sha256Tag } from './seeded-input.js';
import { iterationSummary } from '@pocketbench/contracts';
import { HARNESS_NAME, HARNESS_VERSION } from './version.js';
import { preferredAdapter, probeVulkan, type VulkanAdapter } from './vulkan-probe.js';

/** What a runner says when an allocation failed (C++, ONNX Runtime, V8, libc). */
const OUT_OF_MEMORY = /std::bad_alloc|out of memory|Failed to allocate memory|Cannot allocate memory|heap out of memory|Cannot create a string longer/i;

export interface RunSessionOptions {
  config: HarnessConfig;
  /** Set when the spec could not even be read or parsed (the CLI's file): reported as bad_spec. */
  specProblem?: string;
  /** Parent of the session's scratch directory (inputs, output). @defaultValue os.tmpdir() */
  scratchDir?: string;
}

class SessionFailure extends Error {
  constructor(
    readonly errorClass: BenchErrorClass,
    message: string,
  ) {
    super(message);
  }
}

class Unsupported extends Error {}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Vulkan loaders refuse to start without XDG_RUNTIME_DIR; give the runner a private one. */
async function runnerEnv(config: HarnessConfig): Promise<Record<string, string>> {
  const env = { ...config.childEnv };
  if (!config.xdgRuntimeDir) {
    const dir = path.join(os.tmpdir(), `pocketbench-xdg-${os.userInfo().uid}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  return env;
}

const RUNTIME_VERSION_UNKNOWN = null;
const SCRATCH_PREFIX = 'pocketbench-session-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A harness killed mid-session (SIGKILL from a device driver's budget) cannot clean up after
 * itself; the next session removes scratch directories whose harness process is gone.
 */
async function sweepOrphanScratch(parent: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^pocketbench-session-(\d+)-/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !alive(Number(pid))) await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * One harness session: validate the spec, verify the artifact, run the runner under the time
 * budget, and assemble a BenchReport that always validates against the schema, whatever happened.
 */
export async function runSession(specDoc: unknown, opts: RunSessionOptions): Promise<BenchReport> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const before = readDeviceSnapshot();
  const host = readHostFacts();
  const raw = (specDoc && typeof specDoc === 'object' ? specDoc : {}) as Record<string, unknown>;
  const base = {
    reportVersion: 1 as const,
    harness: { name: HARNESS_NAME, version: HARNESS_VERSION },
    spec: raw,
    startedAt,
    host,
    ...(raw.labels && typeof raw.labels === 'object' ? { labels: raw.labels as Record<string, string> } : {}),
  };
  const runtimeName = typeof raw.runtime === 'string' ? raw.runtime : 'unknown';
  let report: BenchReport;
  let scratch: string | undefined;
  try {
    if (opts.specProblem) throw new SessionFailure('bad_spec', opts.specProblem);
    const checked = validateBenchSpec(specDoc);
    if (!checked.ok) throw new SessionFailure('bad_spec', `invalid BenchSpec: ${checked.errors.join('; ')}`);
    const spec = checked.value;
    const parent = opts.scratchDir ?? os.tmpdir();
    await sweepOrphanScratch(parent);
    scratch = await mkdtemp(path.join(parent, `${SCRATCH_PREFIX}${process.pid}-`));
    report = await measure(spec, opts.config, scratch, { base, before, host, started });
  } catch (caught) {
    const err = caught instanceof FidelityError ? new SessionFailure(caught.errorClass, caught.message) : caught;
    const after = readDeviceSnapshot();
    const backend = { requested: typeof raw.backend === 'string' ? raw.backend : 'unknown', used: null };
    if (err instanceof Unsupported) {
      report = { ...base, status: 'unsupported', runtime: { name: runtimeName, version: RUNTIME_VERSION_UNKNOWN }, backend: { ...backend, reason: err.message }, device: { before, after }, finishedAt: new Date().toISOString() };
    } else {
      const failure = err instanceof SessionFailure ? err : new SessionFailure('internal', err instanceof Error ? err.stack ?? err.message : String(err));
      report = { ...base, status: 'error', error: { class: failure.errorClass, message: failure.message }, runtime: { name: runtimeName, version: RUNTIME_VERSION_UNKNOWN }, backend, device: { before, after }, finishedAt: new Date().toISOString() };
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  report.durationMs = Date.now() - started;
  const self = validateBenchReport(report);
  if (!self.ok) {
    // A harness bug must still yield a valid report, saying what was wrong with it.
    return {
      ...base,
      status: 'error',
      error: { class: 'internal', message: `harness produced an invalid report: ${self.errors.join('; ')}` },
      runtime: { name: runtimeName, version: null },
      backend: { requested: String(raw.backend ?? 'unknown'), used: null },
      device: report.device,
      finishedAt: report.finishedAt,
      durationMs: report.durationMs,
    };
  }
  return report;
}

async function measure(
  spec: BenchSpec,
  config: HarnessConfig,
  scratch: string,
  ctx: { base: Omit<BenchReport, 'status' | 'runtime' | 'backend' | 'device' | 'finishedAt'>; before: DeviceSnapshot; host: HostFacts; started: number },
): Promise<BenchReport> {
  const deadline = ctx.started + spec.timeBudgetSec * 1000;
  if (FORMAT_FOR_RUNTIME[spec.runtime] !== spec.artifact.format) {
    throw new SessionFailure('bad_spec', `/artifact/format: '${spec.artifact.format}' cannot run on runtime '${spec.runtime}' (expects '${FORMAT_FOR_RUNTIME[spec.runtime]}')`);
  }
  const reason = UNSUPPORTED_REASONS[spec.runtime][spec.backend];
  if (reason) throw new Unsupported(`${spec.runtime} cannot use backend '${spec.backend}' here: ${reason}`);

  let size: number;
  try {
    const st = await stat(spec.artifact.path);
    if (!st.isFile()) throw new SessionFailure('model_missing', `model path ${spec.artifact.path} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof SessionFailure) throw err;
    throw new SessionFailure('model_missing', `model file not found: ${spec.artifact.path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const sha256 = await sha256File(spec.artifact.path);
  if (sha256 !== spec.artifact.sha256) {
    throw new SessionFailure('model_hash_mismatch', `model ${spec.artifact.path} has sha256 ${sha256}, the spec expects ${spec.artifact.sha256}`);
  }

  const env = await runnerEnv(config);
  let adapter: VulkanAdapter | undefined;
  if (spec.backend === 'vulkan') {
    const probe = await probeVulkan(config.vulkaninfoPath, env);
    if (!probe.ok) throw new Unsupported(probe.reason);
    adapter = preferredAdapter(probe.adapters);
  }

  const seed = spec.seed ?? 0;
  const inputs: RunnerRequest['inputs'] = [];
  const inputBytes: Buffer[] = [];
  for (const [i, input] of spec.inputs.entries()) {
    const bytes = generateInput(input, (seed + i) >>> 0);
    const file = path.join(scratch, `input-${i}.bin`);
    await writeFile(file, bytes);
    inputs.push({ name: input.name, dtype: input.dtype, shape: input.shape, file });
    inputBytes.push(bytes);
  }
  // Prepared before the runner starts: a bad eval set or reference fails without running anything.
  const fidelity: PreparedFidelity | undefined = spec.fidelity ? await prepareFidelity(spec, scratch) : undefined;
  const req: RunnerRequest = {
    modelPath: spec.artifact.path,
    backend: spec.backend,
    threads: spec.threads,
    warmup: spec.warmup,
    iterations: spec.iterations,
    minDurationMs: spec.minDurationMs ?? 0,
    inputs,
    outputIndex: spec.output?.index ?? 0,
    outputFile: path.join(scratch, 'output.f32'),
    scratchDir: scratch,
    ...(fidelity
      ? { fidelity: { count: fidelity.seeded + fidelity.evalSamples, inputFiles: fidelity.inputFiles, outputFile: path.join(scratch, 'fidelity-output.f32') } }
      : {}),
  };
  let cmd: { command: string; args: string[] };
  let runEnv = env;
  if (spec.runtime === 'pytorch-lite') {
    runEnv = { ...env, ...PTL_ALLOCATOR_ENV };
    try {
      await access(config.ptlRunnerPath, constants.X_OK);
    } catch {
      // A bundle without a runner for this arch is a platform fact, not a fault of the device.
      if (config.ptlRunnerBundled) throw new Unsupported(`pytorch-lite is not built for ${os.machine()} in this harness bundle (no native ptl-runner for it)`);
      throw new SessionFailure('internal', `native ptl-runner not found at ${config.ptlRunnerPath}; build it with device-agents/harness/native/build.sh (or set POCKETBENCH_PTL_RUNNER)`);
    }
    cmd = ptlRunnerCommand(config.ptlRunnerPath, req);
  } else {
    cmd = onnxRunnerCommand(req);
  }

  const outcome = await runRunnerProcess(cmd.command, cmd.args, { env: runEnv, timeoutMs: deadline - Date.now() });
  if (outcome.kind === 'timeout') {
    throw new SessionFailure('timeout', `time budget of ${spec.timeBudgetSec}s exceeded; the runner was killed`);
  }
  if (outcome.kind === 'crash') {
    const how = outcome.signal ? `killed by ${outcome.signal}` : `exited with code ${outcome.code} without a result`;
    // Running out of memory is what this model asks of the device: the model's fault, not a crash to retry.
    if (OUT_OF_MEMORY.test(outcome.stderr)) {
      throw new SessionFailure('inference', `out of memory: the ${spec.runtime} runner ${how}: ${outcome.stderr.trim().slice(-1500)}`);
    }
    throw new SessionFailure('crash', `${spec.runtime} runner ${how}: ${outcome.stderr.trim().slice(-1500)}`);
  }
  const result = outcome.result;
  if (result.status === 'unsupported') throw new Unsupported(result.reason);
  if (result.status === 'error') {
    // The lite interpreter only says a forward failed; shape complaints are the spec's inputs not fitting.
    const cls = result.errorClass === 'inference' && /size|shape|dimension|expected .*input|channels/i.test(result.message) ? 'input_mismatch' : result.errorClass;
    throw new SessionFailure(cls, result.message);
  }
  // backend.used is what the runner established from the runtime (ONNX Runtime's per-node profile,
  // the lite interpreter's operator list), never the request echoed back.
  if (!result.backendUsed) throw new SessionFailure('internal', `${spec.runtime} runner did not report the backend it ran on`);
  if (result.backendUsed !== spec.backend) {
    throw new Unsupported(`requested backend '${spec.backend}', but ${spec.runtime} ran the model on '${result.backendUsed}'; a fallback is a failure, not a result`);
  }
  if (result.iterationsUs.length < spec.iterations) {
    throw new SessionFailure('internal', `runner returned ${result.iterationsUs.length} iterations, the spec asked for ${spec.iterations}`);
  }

  let fidelityResult: BenchReport['fidelity'];
  if (fidelity) {
    if (!result.fidelityOutputs?.length) throw new SessionFailure('internal', `${spec.runtime} runner did not report its fidelity outputs`);
    fidelityResult = await fidelityReport(spec, fidelity, req.fidelity!.outputFile, result.fidelityOutputs);
  }

  const outBytes = await readFile(req.outputFile);
  const topK = spec.output?.topK ?? 5;
  const described = describeOutput(outBytes, topK);
  const after = readDeviceSnapshot();
  return {
    ...ctx.base,
    status: 'ok',
    spec,
    runtime: {
      name: spec.runtime,
      version: result.runtimeVersion,
      detail:
        spec.runtime === 'pytorch-lite'
          ? {
              interpreter: 'lite (torch::jit::_load_for_mobile)',
              threads: spec.threads,
              allocatorEnv: PTL_ALLOCATOR_ENV,
              ...(result.detail ?? {}),
              // qengine, supportedQEngines, xnnpackAvailable: the runner's, from this libtorch.
              backendEvidence: "the model's operator list (_export_operator_list): lite-interpreter CPU kernels, XNNPACK for prepacked:: ops, quantized:: ops on the quantized engine named in qengine",
            }
          : (result.detail ?? {}),
    },
    backend: { requested: spec.backend, used: result.backendUsed, ...(adapter ? { adapter } : {}) },
    model: { path: spec.artifact.path, sha256, sizeBytes: size, format: spec.artifact.format },
    timing: {
      modelLoadMs: result.modelLoadMs,
      firstInferenceMs: result.firstInferenceMs,
      warmup: spec.warmup,
      iterationsUs: result.iterationsUs,
      timedDurationMs: result.iterationsUs.reduce((s, v) => s + v, 0) / 1000,
    },
    summary: iterationSummary(result.iterationsUs),
    memory: { peakRssBytes: result.peakRssBytes, method: 'VmHWM' },
    output: {
      index: req.outputIndex,
      dtype: result.outputDtype,
      shape: result.outputShape,
      ...(spec.output?.digest === false ? {} : { digest: described.digest }),
      topK: described.topK,
      inputDigest: sha256Tag(...inputBytes),
    },
    ...(fidelityResult ? { fidelity: fidelityResult } : {}),
    device: { before: ctx.before, after },
    finishedAt: new Date().toISOString(),
  };
}
