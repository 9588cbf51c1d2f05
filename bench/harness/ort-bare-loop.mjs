// The simplest possible timing loop over onnxruntime-node, with no harness around it: the
// reference bench/harness/measurement-quality.ts compares the harness's ONNX runner against.
// Usage: node ort-bare-loop.mjs MODEL THREADS WARMUP ITERATIONS INPUT_FILE D0xD1x...  → JSON array of µs
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [model, threads, warmup, iterations, inputFile, shape] = process.argv.slice(2);
const bytes = Buffer.from(readFileSync(inputFile));
const input = new ort.Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), shape.split('x').map(Number));
const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: Number(threads) });
const feeds = { [session.inputNames[0]]: input };
for (let i = 0; i < Number(warmup); i++) await session.run(feeds);
const us = [];
for (let i = 0; i < Number(iterations); i++) {
  const s = performance.now();
  await session.run(feeds);
  us.push((performance.now() - s) * 1000);
}
process.stdout.write(`${JSON.stringify(us)}\n`);
