import { openAsBlob } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { conversionQueueName, type ConversionJobData } from '@pocketbench/contracts';
import { markConversionRunning, type Pool } from '@pocketbench/db';
import type { ArtifactCache } from '../artifact-cache.js';
import { InfrastructureError } from '../errors.js';
import { runConverter, type ConverterCapability } from './converter.js';

export interface ConversionWorkerOptions {
  converter: ConverterCapability;
  db: Pool;
  cache: ArtifactCache;
  connection: ConnectionOptions;
  queuePrefix: string;
  /** BullMQ key prefix. @defaultValue queuePrefix */
  bullPrefix?: string;
  hostName: string;
  apiUrl: string;
  apiToken?: string;
  /** Where each conversion gets a scratch directory. */
  workDir: string;
  /** Longest conversion before it is called a model fault. @defaultValue 600000 */
  timeoutMs?: number;
  logger: Logger;
}

/** Outcome a conversion job returns (the record is the `conversions` row; this is for logs). */
export interface ConversionJobResult {
  status: string;
}

/**
 * The converter capability of a worker host: one BullMQ consumer (concurrency 1: a conversion
 * takes a core) on the conversion queue. It downloads the parent (and the calibration set) by
 * hash, runs convert_model.py, and reports the output or the model's fault to the api, which
 * stores the artifact and the variant's cells. Infrastructure faults are retried by the queue;
 * after the last attempt the conversion is reported `failed` so the run does not wait forever.
 */
export class ConversionWorker {
  private worker?: Worker<ConversionJobData, ConversionJobResult>;
  private closing?: Promise<void>;

  constructor(private readonly opts: ConversionWorkerOptions) {}

  async start(): Promise<void> {
    const o = this.opts;
    await mkdir(o.workDir, { recursive: true });
    this.worker = new Worker<ConversionJobData, ConversionJobResult>(conversionQueueName(o.queuePrefix), (job) => this.process(job), {
      connection: o.connection,
      prefix: o.bullPrefix ?? o.queuePrefix,
      concurrency: 1,
      // A conversion of a large model takes minutes; the lock is renewed meanwhile.
      lockDuration: 60_000,
    });
    this.worker.on('error', (err) => o.logger.warn({ err: err.message }, 'conversion consumer error'));
    await this.worker.waitUntilReady();
    o.logger.info({ torchVersion: o.converter.torchVersion, python: o.converter.python }, 'converter ready: consuming conversion jobs');
  }

  private async process(job: Job<ConversionJobData, ConversionJobResult>): Promise<ConversionJobResult> {
    const o = this.opts;
    const d = job.data;
    const log = o.logger.child({ conversionId: d.conversionId, variant: d.variant, format: d.format, attempt: job.attemptsMade + 1 });
    const row = await markConversionRunning(o.db, d.conversionId, o.hostName);
    if (!row) {
      log.warn('conversion unknown to Postgres (its run was deleted); dropping the job');
      return { status: 'unknown' };
    }
    if (row.status !== 'running') return { status: row.status };
    const dir = await mkdtemp(path.join(o.workDir, 'conv-'));
    try {
      const model = (await o.cache.ensure(d.parent.sha256)).path;
      const calibration = d.calibration ? (await o.cache.ensure(d.calibration.sha256)).path : undefined;
      // A fixed file name: the archive's inner folder is named after it, so equal inputs give equal bytes.
      const out = path.join(dir, `model.${d.format}`);
      const started = Date.now();
      const r = await runConverter(o.converter.python, {
        model, variant: d.variant, format: d.format, out, inputShape: d.inputShape, calibration,
        calibrationSamples: d.calibration ? undefined : d.calibrationSamples, seed: d.seed, timeoutMs: o.timeoutMs ?? 600_000,
      });
      if (r.kind === 'infrastructure') throw new InfrastructureError(r.message);
      if (r.kind === 'model') {
        log.warn({ errorKind: r.errorKind, op: r.op, message: r.message }, 'the model cannot be converted');
        await this.report(`conversions/${d.conversionId}/failure`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            status: r.op ? 'unsupported' : 'failed', errorClass: r.errorKind, reason: r.message, ...(r.op ? { op: r.op } : {}),
          }),
        });
        return { status: r.op ? 'unsupported' : 'failed' };
      }
      const form = new FormData();
      form.set('recipe', JSON.stringify(r.recipe));
      form.set('file', await openAsBlob(out), `model.${d.format}`);
      await this.report(`conversions/${d.conversionId}/output`, { method: 'POST', body: form });
      log.info({ sha256: r.sha256, sizeBytes: r.sizeBytes, ms: Date.now() - started }, 'conversion done');
      return { status: 'done' };
    } catch (err) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ err: (err as Error).message, last }, 'conversion attempt failed');
      if (last) {
        await this.report(`conversions/${d.conversionId}/failure`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ status: 'failed', errorClass: 'infrastructure', reason: `conversion failed after ${job.attemptsMade + 1} attempts: ${(err as Error).message}` }),
        }).catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not report the failed conversion; the reconciler queues it again'));
      }
      throw err;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** A call to the api; any non-2xx answer is an infrastructure fault (the job is retried). */
  private async report(p: string, init: RequestInit): Promise<void> {
    const o = this.opts;
    const headers = new Headers(init.headers);
    if (o.apiToken) headers.set('authorization', `Bearer ${o.apiToken}`);
    let res: Response;
    try {
      res = await fetch(`${o.apiUrl}/api/v1/${p}`, { ...init, headers });
    } catch (err) {
      throw new InfrastructureError(`could not reach the api at ${o.apiUrl}: ${(err as Error).message}`);
    }
    if (!res.ok) throw new InfrastructureError(`the api answered ${res.status} to ${p}: ${(await res.text()).slice(0, 500)}`);
  }

  /** Stops taking jobs and waits for the one in hand; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker?.close();
    })();
    return this.closing;
  }
}
