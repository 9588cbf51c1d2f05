import { createHash, randomUUID } from 'node:crypto';
import { readFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_FIDELITY_INPUTS, DEFAULT_FIDELITY_SEED, faultPolicy, runtimeForFormat, type ArtifactFormat, type BenchInputSpec, type BenchSpec,
} from '@pocketbench/contracts';
import { runSession, type HarnessConfig } from '@pocketbench/harness';
import { InfrastructureError, ModelFaultError } from '../errors.js';

/** What the reference must be run on: the cell's inputs, the fidelity samples' seed and count, the eval set. */
export interface ReferenceRequest {
  reference: { path: string; sha256: string; format: ArtifactFormat };
  inputs: BenchInputSpec[];
  fidelity: { inputs?: number; seed?: number; evalSet?: { path: string; sha256: string } };
  outputIndex?: number;
}

/** The reference's outputs on the fidelity samples, in the layout BenchSpec.fidelity.reference names. */
export interface ReferenceFile {
  path: string;
  sha256: string;
  outputs: { shape: number[] }[];
}

/**
 * Reference outputs, computed once on this worker host's own harness (never on the device under
 * test) and cached under `dir` by reference sha256 × input spec × fidelity seed and count × eval
 * set: every cell and session comparing with the same reference on the same samples reuses them.
 */
export class ReferenceOutputs {
  private readonly inFlight = new Map<string, Promise<ReferenceFile>>();

  constructor(private readonly opts: { dir: string; harness: HarnessConfig; timeBudgetSec?: number }) {}

  /** The cache key: everything the outputs depend on. */
  static key(req: ReferenceRequest): string {
    const spec = {
      reference: req.reference.sha256,
      inputs: req.inputs.map((i) => ({ name: i.name, shape: i.shape, dtype: i.dtype, distribution: i.distribution ?? null })),
      count: req.fidelity.inputs ?? DEFAULT_FIDELITY_INPUTS,
      seed: req.fidelity.seed ?? DEFAULT_FIDELITY_SEED,
      evalSet: req.fidelity.evalSet?.sha256 ?? null,
    };
    return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  }

  async ensure(req: ReferenceRequest): Promise<ReferenceFile> {
    const key = ReferenceOutputs.key(req);
    const file = path.join(this.opts.dir, `${key}.f32`);
    const meta = path.join(this.opts.dir, `${key}.json`);
    const cached = await readFile(meta, 'utf8').then((t) => JSON.parse(t) as ReferenceFile, () => undefined);
    if (cached) return { ...cached, path: file };
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.compute(req, file, meta).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async compute(req: ReferenceRequest, file: string, meta: string): Promise<ReferenceFile> {
    const runtime = runtimeForFormat(req.reference.format);
    const ref = `the reference ${req.reference.sha256.slice(0, 12)} (${req.reference.format})`;
    if (!runtime) throw new ModelFaultError('bad_spec', `${ref}: no harness runs this format, so its outputs cannot be computed`);
    await mkdir(this.opts.dir, { recursive: true });
    const tmp = `${file}.${randomUUID()}.part`;
    const spec: BenchSpec = {
      specVersion: 1,
      artifact: { path: req.reference.path, sha256: req.reference.sha256, format: req.reference.format },
      runtime,
      backend: 'cpu',
      threads: 1,
      warmup: 0,
      iterations: 1,
      inputs: req.inputs,
      output: { index: req.outputIndex ?? 0, topK: 5, digest: false },
      fidelity: { ...req.fidelity, outputsPath: tmp },
      timeBudgetSec: this.opts.timeBudgetSec ?? 600,
    };
    try {
      const report = await runSession(spec, { config: this.opts.harness });
      if (report.status === 'unsupported') throw new ModelFaultError('bad_spec', `${ref} cannot run on this host's harness: ${report.backend.reason}`);
      if (report.status === 'error') {
        const e = report.error!;
        // The reference's own faults (and a bad eval set) are the submission's, as the fault policy has them: the cell fails, no retry.
        if (!faultPolicy(e.class).failCell) throw new InfrastructureError(`computing the outputs of ${ref} on the host failed (${e.class}): ${e.message}`);
        throw new ModelFaultError(e.class, `${ref}: ${e.message}`);
      }
      const bytes = await readFile(tmp);
      const result: ReferenceFile = {
        path: file,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        outputs: report.fidelity!.outputs.map((o) => ({ shape: o.shape })),
      };
      await rename(tmp, file);
      // The metadata last: its presence means the outputs file is complete.
      await writeFile(`${meta}.tmp`, JSON.stringify(result));
      await rename(`${meta}.tmp`, meta);
      return result;
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
