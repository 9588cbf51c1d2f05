// Shared by the attack catalogue: a BenchReport a client could post, raw HTTP for requests
// fetch will not send (a body sent slowly, a forged Host), and log capture for the banner.
import http from 'node:http';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export const ADMIN = 'security-catalogue-admin-token-0123456789';

/** A valid BenchReport of `sha256` (an ONNX artifact) on `backend`. */
export function report(sha256: string, over: { iterationsUs?: number[]; backend?: string; cpuModel?: string } = {}) {
  const iterationsUs = over.iterationsUs ?? [1000, 1100, 1200, 1300, 1250];
  const snapshot = { takenAt: new Date().toISOString(), thermalZones: {}, cpuFreqKhz: [], governor: null, loadAvg: [0, 0, 0] };
  return {
    reportVersion: 1,
    status: 'ok',
    harness: { name: 'phone-lab-harness', version: '1.0.0' },
    spec: { inputs: [{ name: 'x', shape: [1, 4], dtype: 'float32' }] },
    runtime: { name: 'onnxruntime', version: '1.22.0' },
    backend: { requested: over.backend ?? 'cpu', used: over.backend ?? 'cpu' },
    model: { path: '/data/local/tmp/m.onnx', sha256, sizeBytes: 1234, format: 'onnx' },
    timing: { modelLoadMs: 12.5, firstInferenceMs: 3, warmup: 2, iterationsUs, timedDurationMs: 10 },
    summary: { count: iterationsUs.length, minUs: 1000, meanUs: 1170, p50Us: 1200, p90Us: 1300, p99Us: 1300, maxUs: 1300, stddevUs: 110, madUs: 50, cv: 0.09 },
    output: { index: 0, dtype: 'float32', shape: [1, 4], topK: [0, 1, 2, 3], inputDigest: `sha256:${'c'.repeat(64)}` },
    memory: { peakRssBytes: 50 * 1024 * 1024, method: 'PSS' },
    device: { before: snapshot, after: snapshot },
    host: { arch: 'aarch64', cpuModel: over.cpuModel ?? 'Pixel 8', cores: 8, kernel: '6.1', os: 'Android 14' },
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Bytes of the request body written when the response began. */
  sentWhenAnswered: number;
}

/**
 * Sends a request with full control of headers; the body goes out in chunks, and stops as soon
 * as a response starts (so a server that answers before reading the body is seen doing so).
 */
export function rawRequest(
  url: string,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; chunkBytes?: number; chunkDelayMs?: number },
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request({ host: u.hostname, port: u.port, method: opts.method, path: opts.path, headers: opts.headers, agent: false }, (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), sentWhenAnswered }));
      res.on('error', reject);
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const body = opts.body;
    if (!body) return void req.end();
    const size = opts.chunkBytes ?? body.length;
    const pump = () => {
      if (answered) return void req.destroy();
      if (sent >= body.length) return void req.end();
      const next = body.subarray(sent, sent + size);
      sent += next.length;
      req.write(next);
      setTimeout(pump, opts.chunkDelayMs ?? 0);
    };
    pump();
  });
}

/** A pino logger whose JSON lines are kept in `lines`. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}
