/**
 * The ONNX Runtime runner process: `node onnx-child.ts '<RunnerRequest JSON>'`.
 * Loads the model, runs warmup + timed iterations, prints one RunnerResult line.
 * Kept free of anything but onnxruntime-node so its memory and timing are the runtime's own.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { peakRssOfSelf, type RunnerRequest, type RunnerResult } from '../runner-protocol.js';
import { writeFully } from '../write-fully.js';
import { describeNodes, judgePlacement, placementsFromProfile, type NodePlacement } from './node-placement.js';

const TYPED: Record<string, (b: Buffer) => ort.Tensor['data']> = {
  float32: (b) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4),
  int32: (b) => new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4),
  int64: (b) => new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8),
  uint8: (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
};

/**
 * Prints the result line and exits once all of it is written. The exit is explicit because
 * onnxruntime's thread pools (and Dawn's, for WebGPU) may keep the process alive.
 */
async function emit(result: RunnerResult): Promise<never> {
  await writeFully(process.stdout, `${JSON.stringify(result)}\n`);
  process.exit(result.status === 'ok' ? 0 : 2);
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 2000);
}

/**
 * How the spec's inputs do not fit the model's declared inputs (ONNX Runtime's input metadata:
 * element type, rank, fixed dimensions; symbolic ones take any size), or null when they fit.
 * Checked before running, so an input mismatch is named from the model's own declaration.
 */
function inputMisfit(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): string | null {
  for (const meta of session.inputMetadata) {
    const feed = feeds[meta.name];
    if (!feed || !meta.isTensor) continue;
    const declared = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d || '?')));
    const show = (dims: readonly (number | string)[]) => `[${dims.join(', ')}]`;
    if (meta.type !== feed.type) return `input "${meta.name}": the model takes ${meta.type}, the spec gives ${feed.type}`;
    if (meta.shape.length && (meta.shape.length !== feed.dims.length || declared.some((d, i) => typeof d === 'number' && d !== feed.dims[i]))) {
      return `input "${meta.name}": the model takes shape ${show(declared)}, the spec gives ${show(feed.dims)}`;
    }
  }
  return null;
}

async function main(): Promise<RunnerResult> {
  const req = JSON.parse(process.argv[2] ?? '{}') as RunnerRequest;
  const vulkan = req.backend === 'vulkan';
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of req.inputs) {
    // Copy into a fresh, aligned buffer: Buffer pools may start at odd offsets.
    const bytes = Buffer.from(readFileSync(input.file));
    feeds[input.name] = new ort.Tensor(input.dtype as 'float32', TYPED[input.dtype](bytes) as Float32Array, input.shape);
  }

  const options = sessionOptions(req, vulkan);
  const t0 = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(req.modelPath, options);
  } catch (err) {
    const message = messageOf(err);
    if (vulkan && /adapter|vulkan|webgpu context/i.test(message)) return { status: 'unsupported', reason: `no usable Vulkan device for WebGPU: ${message}` };
    if (vulkan && /fallback|not supported by|no kernel/i.test(message)) {
      return { status: 'unsupported', reason: `model has nodes the WebGPU EP cannot run, and CPU fallback is refused: ${await nodesThatFallBack(req, feeds)}(ONNX Runtime: ${message})` };
    }
    return { status: 'error', errorClass: 'model_load', message };
  }
  const modelLoadMs = performance.now() - t0;

  const missing = session.inputNames.filter((n) => !(n in feeds));
  const unknown = Object.keys(feeds).filter((n) => !session.inputNames.includes(n));
  if (missing.length || unknown.length) {
    return {
      status: 'error',
      errorClass: 'input_mismatch',
      message: `spec inputs [${Object.keys(feeds).join(', ')}] do not match the model's inputs [${session.inputNames.join(', ')}]`,
    };
  }
  const misfit = inputMisfit(session, feeds);
  if (misfit) return { status: 'error', errorClass: 'input_mismatch', message: misfit };
  const outputName = session.outputNames[req.outputIndex];
  if (outputName === undefined) {
    return { status: 'error', errorClass: 'bad_spec', message: `output index ${req.outputIndex} out of range: the model has ${session.outputNames.length} output(s)` };
  }

  let out: ort.InferenceSession.OnnxValueMapType;
  let firstInferenceMs: number;
  const iterationsUs: number[] = [];
  try {
    const t1 = performance.now();
    out = await session.run(feeds);
    firstInferenceMs = performance.now() - t1;
    for (let i = 1; i < req.warmup; i++) await session.run(feeds);
    let timedMs = 0;
    while (iterationsUs.length < req.iterations || timedMs < req.minDurationMs) {
      const s = performance.now();
      out = await session.run(feeds);
      const ms = performance.now() - s;
      iterationsUs.push(ms * 1000);
      timedMs += ms;
    }
  } catch (err) {
    const message = messageOf(err);
    // The inputs were checked against the model's own metadata above: what fails now is the model running.
    return { status: 'error', errorClass: 'inference', message };
  }

  const tensor = out[outputName] as ort.Tensor;
  const data = tensor.data;
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number);
  writeFileSync(req.outputFile, Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
  // Read before the placement session below, so VmHWM is the timed session's.
  const peakRssBytes = peakRssOfSelf(() => readFileSync('/proc/self/status', 'utf8'));
  let fidelityOutputs: { dtype: string; shape: number[] }[] | undefined;
  if (req.fidelity) {
    try {
      fidelityOutputs = await fidelityPass(req, session);
    } catch (err) {
      const message = messageOf(err);
      return { status: 'error', errorClass: 'inference', message: `fidelity pass: ${message}` };
    }
  }
  await session.release();

  // The backend used comes from what the runtime did, not from what was asked for.
  let placements: NodePlacement[];
  try {
    placements = await profiledPlacement(req, options, feeds);
  } catch (err) {
    return { status: 'error', errorClass: 'internal', message: `could not establish the backend used from ONNX Runtime's profile: ${messageOf(err)}` };
  }
  const verdict = judgePlacement(req.backend, placements);
  if (!verdict.ok) {
    if (vulkan && verdict.offenders.length) return { status: 'unsupported', reason: `not every node ran on the WebGPU EP although CPU fallback was disabled: ${verdict.reason}` };
    return { status: 'error', errorClass: 'internal', message: `backend '${req.backend}' not established: ${verdict.reason}` };
  }
  return {
    status: 'ok',
    runtimeVersion: ort.env.versions.node ?? ort.env.versions.common,
    modelLoadMs,
    firstInferenceMs,
    iterationsUs,
    peakRssBytes,
    outputDtype: tensor.type,
    outputShape: [...tensor.dims],
    backendUsed: verdict.backendUsed,
    ...(fidelityOutputs ? { fidelityOutputs } : {}),
    detail: {
      // Providers ONNX Runtime's profile shows running nodes; the request is listed separately.
      executionProviders: verdict.providers,
      requestedExecutionProviders: [vulkan ? 'webgpu' : 'cpu'],
      profiledNodes: verdict.computeNodes,
      backendEvidence: 'onnxruntime profile (per-node provider) of one inference in a second session with the same options, after timing',
      cpuFallback: vulkan ? 'disabled' : 'n/a',
      intraOpNumThreads: req.threads,
    },
  };
}

/** The fidelity pass on the timed session: every sample once, every output appended as float32. */
async function fidelityPass(req: RunnerRequest, session: ort.InferenceSession): Promise<{ dtype: string; shape: number[] }[]> {
  const { count, inputFiles, outputFile } = req.fidelity!;
  const fds = inputFiles.map((f) => openSync(f, 'r'));
  const out = openSync(outputFile, 'w');
  let shapes: { dtype: string; shape: number[] }[] = [];
  try {
    for (let k = 0; k < count; k++) {
      const feeds: Record<string, ort.Tensor> = {};
      req.inputs.forEach((input, i) => {
        const bytes = Buffer.alloc(input.shape.reduce((n, d) => n * d, 1) * (input.dtype === 'int64' ? 8 : input.dtype === 'uint8' ? 1 : 4));
        if (readSync(fds[i], bytes, 0, bytes.length, k * bytes.length) !== bytes.length) {
          throw new Error(`fidelity input file ${inputFiles[i]} holds fewer than ${count} samples`);
        }
        feeds[input.name] = new ort.Tensor(input.dtype as 'float32', TYPED[input.dtype](bytes) as Float32Array, input.shape);
      });
      const result = await session.run(feeds);
      const tensors = session.outputNames.map((n) => result[n] as ort.Tensor);
      if (k === 0) shapes = tensors.map((t) => ({ dtype: t.type, shape: [...t.dims] }));
      tensors.forEach((t, j) => {
        if (t.dims.join('x') !== shapes[j].shape.join('x')) throw new Error(`output ${j} changed shape at fidelity sample ${k}`);
        const d = t.data;
        const f32 = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>, Number);
        writeSync(out, Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
      });
    }
  } finally {
    for (const fd of fds) closeSync(fd);
    closeSync(out);
  }
  return shapes;
}

function sessionOptions(req: RunnerRequest, vulkan: boolean, allowCpuFallback = false): ort.InferenceSession.SessionOptions {
  return {
    // WebGPU on Linux is Dawn on Vulkan; no CPU fallback, so "vulkan" means every node ran there.
    executionProviders: [vulkan ? 'webgpu' : 'cpu'],
    intraOpNumThreads: req.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { disable_cpu_ep_fallback: vulkan && !allowCpuFallback ? '1' : '0' } },
  };
}

let profiles = 0;

/**
 * One inference in a separate, profiled session with the given options; returns where each node ran.
 * Separate so the timed session carries no profiling cost; partitioning depends only on the model
 * and the options, so it places the nodes as the timed session did.
 */
async function profiledPlacement(req: RunnerRequest, options: ort.InferenceSession.SessionOptions, feeds: Record<string, ort.Tensor>): Promise<NodePlacement[]> {
  const prefix = `ort-profile-${++profiles}`;
  const session = await ort.InferenceSession.create(req.modelPath, { ...options, enableProfiling: true, profileFilePrefix: path.join(req.scratchDir, prefix) });
  try {
    await session.run(feeds);
    session.endProfiling();
  } finally {
    await session.release();
  }
  const files = readdirSync(req.scratchDir).filter((f) => f.startsWith(`${prefix}_`) && f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`expected one profile file ${prefix}_*.json in ${req.scratchDir}, found ${files.length}`);
  return placementsFromProfile(readFileSync(path.join(req.scratchDir, files[0]), 'utf8'));
}

/** When fallback is refused at load: which nodes would have run on the CPU (with fallback allowed, profiled). */
async function nodesThatFallBack(req: RunnerRequest, feeds: Record<string, ort.Tensor>): Promise<string> {
  try {
    const verdict = judgePlacement('vulkan', await profiledPlacement(req, sessionOptions(req, true, true), feeds));
    return verdict.ok ? '' : `${describeNodes(verdict.offenders)} `;
  } catch {
    return ''; // The diagnosis is a courtesy; the refusal stands without it.
  }
}

main()
  .catch((err): RunnerResult => ({ status: 'error', errorClass: 'internal', message: messageOf(err) }))
  .then(emit);
