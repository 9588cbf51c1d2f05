import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  BACKENDS, BudgetsError, CONVERSION_RECIPES, INPUT_DTYPES, parseBudgets, VARIANTS, type ArtifactUploaded, type CalibrationUploaded,
  type ConversionView, type EvalSetUploaded, type InputDtype, type RunCreated, type RunProgressEvent, type RunView,
} from '@pocketbench/contracts';
import { client, CliError, EXIT, parseNonNegativeInt, parsePositiveInt, resolveTarget, splitList } from '../context.js';
import { ProgressBar } from '../render/progress.js';
import { normalizeResults, renderTable, type RunResults } from '../render/results.js';
import { ApiRequestError, type ApiClient } from '../api-client.js';

interface SubmitOptions {
  project?: string;
  model?: string;
  variant?: string;
  devices: string[];
  backends: string[];
  iterations?: number;
  warmup?: number;
  sessions?: number;
  threads?: number;
  timeout?: number;
  minDuration?: number;
  baseline?: string;
  adaptive?: boolean;
  budgets?: string;
  input?: RunInput[];
  reference?: string;
  evalSet?: string;
  fidelityInputs?: number;
  commit?: string;
  branch?: string;
  mergeBase?: string;
  wait?: boolean;
  json?: boolean;
  variants?: string[];
  calibration?: string;
  calibrationSamples?: number;
  onnx?: boolean;
}

type UploadedArtifact = ArtifactUploaded;
type RunInput = { name: string; shape: number[]; dtype: InputDtype };

/** `--input image:1x3x96x96:float32` (repeatable, in input order) → a run config input. */
function parseInput(v: string, prev: RunInput[] = []): RunInput[] {
  const parts = v.split(':');
  const usage = `--input must be name:shape:dtype like image:1x3x224x224:float32, got "${v}"`;
  if (parts.length < 3) throw new CliError(usage, EXIT.usage);
  const dtype = parts.pop()!;
  const shapeText = parts.pop()!;
  const name = parts.join(':');
  if (!name) throw new CliError(`${usage} (the name is empty)`, EXIT.usage);
  const shape = shapeText.split('x').map(Number);
  if (!shapeText || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new CliError(`--input ${name}: shape "${shapeText}" must be positive integers joined by x`, EXIT.usage);
  }
  if (!(INPUT_DTYPES as readonly string[]).includes(dtype)) {
    throw new CliError(`--input ${name}: dtype "${dtype}" must be one of ${INPUT_DTYPES.join(', ')}`, EXIT.usage);
  }
  return [...prev, { name, shape, dtype: dtype as InputDtype }];
}

/** The api answers an upload with the artifact. */
function artifactOf(a: ArtifactUploaded): UploadedArtifact {
  if (!a?.id) throw new CliError('the api answered the upload without an artifact id');
  return a;
}

/** A variant named at the end of a file name: "mobilenet_v2-int8-static.ptl" → int8-static. */
const VARIANT_SUFFIX = new RegExp(`[-_.](${VARIANTS.join('|')})$`);

/** The variant a file name ends with, if any. */
export function variantFromFileName(file: string): string | undefined {
  return VARIANT_SUFFIX.exec(path.basename(file).replace(/\.[^.]+$/, '').toLowerCase())?.[1];
}

/** Model name from a file name, without a trailing variant: "mobilenet_v2-int8-static.ptl" → "mobilenet_v2". */
export function modelNameFor(file: string): string {
  const base = path.basename(file).replace(/\.[^.]+$/, '').toLowerCase().replace(VARIANT_SUFFIX, '');
  return base.replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'model';
}

async function upload(api: ApiClient, file: string, opts: SubmitOptions, log: (s: string) => void): Promise<UploadedArtifact> {
  let doc: ArtifactUploaded;
  try {
    doc = await api.upload<ArtifactUploaded>('/api/v1/artifacts', file, {
      project: opts.project,
      model: opts.model ?? modelNameFor(file),
      variant: opts.variant ?? variantFromFileName(file),
    });
  } catch (err) {
    // With several files the user must learn which one the api refused.
    if (err instanceof ApiRequestError && err.status >= 400 && err.status < 500) {
      throw new ApiRequestError(`${file}: ${err.message}`, err.status, err.code, err.details);
    }
    throw err;
  }
  const a = artifactOf(doc);
  log(`uploaded ${path.basename(file)}: ${a.format}, ${(a.sizeBytes / (1024 * 1024)).toFixed(2)} MB, sha256 ${a.sha256.slice(0, 12)}…`);
  return a;
}

async function uploadEvalSet(api: ApiClient, file: string, project: string | undefined): Promise<EvalSetUploaded> {
  try {
    return await api.upload<EvalSetUploaded>('/api/v1/eval-sets', file, { project });
  } catch (err) {
    if (err instanceof ApiRequestError && err.status >= 400 && err.status < 500) {
      throw new ApiRequestError(`--eval-set ${file}: ${err.message}`, err.status, err.code, err.details);
    }
    throw err;
  }
}

/** Prints a line whenever a conversion of a variants run changes state (`conversion int8-static .ptl: done`). */
class ConversionProgress {
  private seen = new Map<string, string>();
  constructor(private readonly show: boolean) {}

  update(conversions: Pick<ConversionView, 'variant' | 'format' | 'status' | 'reason'>[] | undefined): string | undefined {
    if (!conversions?.length) return undefined;
    for (const c of conversions) {
      const key = `${c.variant} .${c.format}`;
      const state = `${c.status}${c.reason && c.status !== 'done' ? `: ${c.reason}` : ''}`;
      if (this.seen.get(key) === state) continue;
      this.seen.set(key, state);
      if (this.show) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}conversion ${key}: ${state}\n`);
    }
    const open = conversions.filter((c) => c.status === 'queued' || c.status === 'running').length;
    return open ? `(converting: ${conversions.length - open}/${conversions.length} variants made)` : undefined;
  }
}

/** Follows the run's SSE stream (polling as a fallback) until it finishes, drawing progress. */
async function waitForRun(api: ApiClient, runId: string, showProgress: boolean): Promise<void> {
  const bar = showProgress ? new ProgressBar() : undefined;
  const conversions = new ConversionProgress(showProgress);
  const finished = (s: string) => ['done', 'failed', 'cancelled'].includes(s);
  const controller = new AbortController();
  try {
    for await (const ev of api.events(`/api/v1/runs/${runId}/events`, controller.signal)) {
      const progress = (ev.data ?? {}) as Partial<RunProgressEvent>;
      const status = String(progress.status ?? '');
      const done = Number(progress.sessionsDone ?? 0);
      const total = Number(progress.sessionsPlanned ?? 0);
      const converting = conversions.update(progress.conversions);
      bar?.update(done, total, converting ? `${status} ${converting}` : status);
      if (finished(status) || ev.event === 'end' || ev.event === 'done') {
        controller.abort();
        break;
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  // The stream may end early (proxy, restart): make sure the run really finished.
  for (;;) {
    const r = await api.get<RunView>(`/api/v1/runs/${runId}`);
    const { progress } = r;
    const converting = conversions.update(r.conversions);
    bar?.update(Number(progress.sessionsDone ?? 0), Number(progress.sessionsPlanned ?? 0), converting ? `${r.status} ${converting}` : String(r.status));
    if (finished(String(r.status))) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  bar?.finish();
}

export async function fetchResults(api: ApiClient, runId: string): Promise<RunResults> {
  return normalizeResults(await api.get<RunView>(`/api/v1/runs/${runId}/results`));
}

export function exitCodeFor(results: RunResults): number {
  const bad = results.status !== 'done' || results.cells.some((c) => ['failed', 'cancelled'].includes(c.status));
  return bad ? EXIT.failed : EXIT.ok;
}

/** Checks the variants options before any upload; returns the run's `conversion` part. */
function checkVariantOptions(files: string[], opts: SubmitOptions): { calibration?: string; calibrationSamples?: number; onnx?: boolean } | undefined {
  if (!opts.variants) {
    for (const [flag, set] of [['--calibration', opts.calibration], ['--calibration-samples', opts.calibrationSamples], ['--onnx', opts.onnx]] as const) {
      if (set !== undefined) throw new CliError(`${flag} needs --variants (it says how variants are made)`, EXIT.usage);
    }
    return undefined;
  }
  const bad = opts.variants.find((v) => !(CONVERSION_RECIPES as readonly string[]).includes(v));
  if (bad) throw new CliError(`--variants: "${bad}" is not a conversion recipe; expected some of ${CONVERSION_RECIPES.join(', ')}`, EXIT.usage);
  if (files.length !== 1) throw new CliError(`--variants converts one fp32 TorchScript model; got ${files.length} files`, EXIT.usage);
  if (opts.baseline) throw new CliError('--variants and --baseline do not go together (pair a variant artifact in a run of its own)', EXIT.usage);
  if (opts.variant !== undefined && opts.variant !== 'fp32') throw new CliError('--variants converts an fp32 model; --variant must be fp32 or left out', EXIT.usage);
  const staticQuant = opts.variants.includes('int8-static');
  if (opts.calibration !== undefined && opts.calibrationSamples !== undefined) {
    throw new CliError('give --calibration FILE or --calibration-samples N, not both', EXIT.usage);
  }
  if (!staticQuant && (opts.calibration !== undefined || opts.calibrationSamples !== undefined)) {
    throw new CliError('--calibration and --calibration-samples are for the int8-static variant, which --variants does not ask for', EXIT.usage);
  }
  if (opts.calibration !== undefined && !existsSync(opts.calibration)) throw new CliError(`--calibration ${opts.calibration}: no such file`, EXIT.usage);
  if (opts.onnx && !opts.variants.includes('fp32')) throw new CliError('--onnx exports the fp32 variant; add fp32 to --variants', EXIT.usage);
  opts.variant = 'fp32';
  return {
    ...(opts.calibrationSamples !== undefined ? { calibrationSamples: opts.calibrationSamples } : {}),
    ...(opts.onnx ? { onnx: true } : {}),
  };
}

export function registerSubmitCommand(program: Command): void {
  program
    .command('submit')
    .description('upload model files and benchmark them on devices (one run: files × backends × devices)')
    .argument('<files...>', 'model files (.onnx, .ptl)')
    .option('--project <name>', 'project the models belong to (default: the token\'s project)')
    .option('--model <name>', 'model name (default: the file name without its extension and variant suffix)')
    .option('--variant <variant>', 'fp32, fp16, int8-dynamic or int8-static (default: the file name\'s suffix, e.g. mobilenet_v2-int8-static.ptl, else fp32)')
    .option('--devices <list>', 'comma-separated device ids or pools; "host" is this machine\'s pool (default: host)', splitList)
    .option('--backends <list>', 'comma-separated backends: cpu, xnnpack, vulkan, nnapi, coreml (default: cpu)', splitList)
    .option('--iterations <n>', 'timed iterations per session (default 50)', parsePositiveInt('--iterations'))
    .option('--warmup <n>', 'untimed warmup iterations (default 5)', parseNonNegativeInt('--warmup'))
    .option('--sessions <n>', 'sessions per cell and side (default 1; 6 for A/B)', parsePositiveInt('--sessions'))
    .option('--threads <n>', 'runtime threads (default 1)', parsePositiveInt('--threads'))
    .option('--timeout <sec>', 'time budget per session in seconds (default 300)', parsePositiveInt('--timeout'))
    .option('--min-duration <ms>', 'keep timing past --iterations until this many ms were timed (default 1000; 0 = exactly --iterations)', parseNonNegativeInt('--min-duration'))
    .option('--variants <list>', `convert the one fp32 TorchScript model (.pt, torch.jit.save) into these and run each: ${CONVERSION_RECIPES.join(', ')}`, splitList)
    .option('--calibration <file.npz>', 'int8-static: calibration inputs (an .npz whose array "inputs" holds samples × input shape)')
    .option('--calibration-samples <n>', 'int8-static without --calibration: this many seeded generated inputs (default 8; real data calibrates better)', parsePositiveInt('--calibration-samples'))
    .option('--onnx', 'with --variants: also export the fp32 variant to ONNX and run it on onnxruntime')
    .option('--baseline <file|artifact-id>', 'paired A/B: baseline model file or artifact id, interleaved on the same device')
    .option('--adaptive', 'A/B: add sessions while the verdict is inconclusive (the default for A/B runs)')
    .option('--no-adaptive', 'A/B: run exactly --sessions per side')
    .option('--budgets <file>', 'budgets YAML stored with the run: the adaptive stopping rule uses its tolerances, as the gate does')
    .option('--input <name:shape:dtype>', 'a model input, e.g. image:1x3x96x96:float32 (repeat for each, in order; default: read from ONNX, 1x3x224x224 float32 for .ptl)', parseInput)
    .option('--reference <file|artifact-id>', 'fidelity reference of every cell: a model file or artifact id, or "none" (default: per model, its fp32 file in the run, .ptl before .onnx)')
    .option('--eval-set <file.npz>', 'labelled eval set (.npz with inputs [N, ...] and labels [N]): accuracy per cell and the drop against the reference')
    .option('--fidelity-inputs <n>', 'seeded inputs of the fidelity pass (default 32)', parseNonNegativeInt('--fidelity-inputs'))
    .option('--commit <sha>', 'commit the models come from')
    .option('--branch <name>', 'branch of that commit')
    .option('--merge-base <sha>', 'merge base of the branch')
    .option('--wait', 'follow the run with a progress bar, then print a table per cell')
    .option('--json', 'print one JSON document (with --wait: the results) instead of text')
    .addHelpText('after', `
Examples:
  pocketbench submit mobilenet_v2.onnx --devices host --backends cpu --iterations 50 --wait
  pocketbench submit head.ptl --baseline base.ptl --devices host --budgets budgets.yml --wait --json
  pocketbench submit m-fp32.ptl m-int8-static.ptl m.onnx --reference m-fp32.ptl --eval-set eval.npz --input input:1x1x8x8:float32 --wait
  pocketbench submit model.pt --variants fp32,int8-dynamic,int8-static --calibration calib.npz --devices host --wait

Exit codes: 0 submitted (with --wait: every cell done), 1 a cell failed, 2 bad input, 3 api unreachable.`)
    .action(async (files: string[], opts: SubmitOptions) => {
      const api = client();
      const log = (s: string) => {
        if (!opts.json) process.stderr.write(`${s}\n`);
      };
      for (const f of files) if (!existsSync(f)) throw new CliError(`${f}: no such file`, EXIT.usage);
      if (opts.evalSet !== undefined && !existsSync(opts.evalSet)) throw new CliError(`--eval-set ${opts.evalSet}: no such file`, EXIT.usage);
      opts.devices = opts.devices?.length ? opts.devices : ['host'];
      opts.backends = opts.backends?.length ? opts.backends : ['cpu'];
      // Checked before any upload, so a typo costs no transfer.
      const badBackend = opts.backends.find((b) => !(BACKENDS as readonly string[]).includes(b));
      if (badBackend) throw new CliError(`--backends: "${badBackend}" is not a backend; expected one of ${BACKENDS.join(', ')}`, EXIT.usage);
      if (opts.variant !== undefined && !(VARIANTS as readonly string[]).includes(opts.variant)) {
        throw new CliError(`--variant: "${opts.variant}" is not a variant; expected one of ${VARIANTS.join(', ')}`, EXIT.usage);
      }
      let budgets: string | undefined;
      if (opts.budgets !== undefined) {
        // Validated before any upload, naming line and field, as `gate` does.
        try {
          budgets = readFileSync(opts.budgets, 'utf8');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          throw new CliError(`cannot read the budgets file ${opts.budgets}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, EXIT.usage);
        }
        try {
          parseBudgets(budgets, opts.budgets);
        } catch (e) {
          if (e instanceof BudgetsError) throw new CliError(`the budgets file is invalid: ${e.message}`, EXIT.usage);
          throw e;
        }
      }
      const conversion = checkVariantOptions(files, opts);
      const artifacts: UploadedArtifact[] = [];
      for (const f of files) artifacts.push(await upload(api, f, opts, log));
      if (opts.calibration) {
        const cal = await api.upload<CalibrationUploaded>('/api/v1/calibrations', opts.calibration, { project: opts.project });
        log(`uploaded calibration set ${path.basename(opts.calibration)}: ${cal.shape.join('×')}, sha256 ${cal.sha256.slice(0, 12)}…`);
        conversion!.calibration = cal.id;
      }
      let baselineId: string | undefined;
      if (opts.baseline) {
        // The baseline is the same model; its variant is its own file name's, else the head's (same variant, older commit).
        const baselineOpts = { ...opts, model: opts.model ?? modelNameFor(files[0]), variant: variantFromFileName(opts.baseline) ?? opts.variant ?? variantFromFileName(files[0]) };
        baselineId = existsSync(opts.baseline) ? (await upload(api, opts.baseline, baselineOpts, log)).id : opts.baseline;
      }
      const fidelity: Record<string, unknown> = {};
      if (opts.reference) {
        // A file is uploaded like the models (same project and model name rules); anything else is an artifact id or "none".
        fidelity.reference = existsSync(opts.reference)
          ? (await upload(api, opts.reference, { ...opts, model: opts.model ?? modelNameFor(opts.reference), variant: variantFromFileName(opts.reference) ?? 'fp32' }, log)).id
          : opts.reference;
      }
      if (opts.evalSet) {
        const e = await uploadEvalSet(api, opts.evalSet, opts.project);
        log(`uploaded eval set ${path.basename(opts.evalSet)}: ${e.samples} samples of [${e.sampleShape.join(', ')}], sha256 ${e.sha256.slice(0, 12)}…`);
        fidelity.evalSet = e.sha256;
      }
      if (opts.fidelityInputs !== undefined) fidelity.inputs = opts.fidelityInputs;
      const config: Record<string, unknown> = {};
      if (Object.keys(fidelity).length) config.fidelity = fidelity;
      if (opts.iterations !== undefined) config.iterations = opts.iterations;
      if (opts.warmup !== undefined) config.warmup = opts.warmup;
      if (opts.sessions !== undefined) config.sessions = opts.sessions;
      if (opts.threads !== undefined) config.threads = opts.threads;
      if (opts.timeout !== undefined) config.timeoutSec = opts.timeout;
      if (opts.minDuration !== undefined) config.minDurationMs = opts.minDuration;
      if (opts.adaptive !== undefined) config.adaptive = opts.adaptive;
      if (opts.input?.length) config.inputs = opts.input;
      const body = {
        project: opts.project,
        commit: opts.commit,
        branch: opts.branch,
        mergeBase: opts.mergeBase,
        matrix: {
          artifacts: artifacts.map((a) => a.id),
          backends: opts.backends,
          devices: opts.devices.map(resolveTarget),
          ...(baselineId ? { baselineArtifact: baselineId } : {}),
          ...(opts.variants ? { variants: opts.variants } : {}),
        },
        ...(conversion ? { conversion } : {}),
        config,
        ...(budgets !== undefined ? { budgets } : {}),
      };
      const run = await api.post<RunCreated>('/api/v1/runs', body);
      const runId = String(run.id);
      // Warnings matter even with --json (stdout stays one document).
      for (const w of run.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
      if (!opts.wait) {
        if (opts.json) process.stdout.write(`${JSON.stringify(normalizeResults(run), null, 2)}\n`);
        else if (run.conversions?.length) {
          process.stdout.write(`run ${runId} ${run.status}: converting ${run.conversions.map((c) => `${c.variant} .${c.format}`).join(', ')}; follow it with: pocketbench status ${runId}\n`);
        } else process.stdout.write(`run ${runId} ${run.status} (${run.cells?.length ?? '?'} cells); follow it with: pocketbench status ${runId}\n`);
        return;
      }
      log(`run ${runId} submitted; waiting for results`);
      await waitForRun(api, runId, !opts.json);
      const results = await fetchResults(api, runId);
      process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${renderTable(results)}\n`);
      process.exitCode = exitCodeFor(results);
    });
}
