import type { BenchErrorClass, InputDtype } from '@pocketbench/contracts';

/** What the supervisor asks of a runner process (the ONNX child gets it as JSON, the native runner as flags). */
export interface RunnerRequest {
  modelPath: string;
  backend: string;
  threads: number;
  warmup: number;
  iterations: number;
  minDurationMs: number;
  inputs: { name: string; dtype: InputDtype; shape: number[]; file: string }[];
  outputIndex: number;
  /** The chosen output is written here as little-endian float32. */
  outputFile: string;
  /** Scratch directory for evidence files (ONNX Runtime's profile); removed with the session. */
  scratchDir: string;
}

/** The one JSON line a runner prints on stdout. */
export type RunnerResult =
  | {
      status: 'ok';
      runtimeVersion: string;
      modelLoadMs: number;
      firstInferenceMs: number;
      iterationsUs: number[];
      /** VmHWM of the runner process itself. */
      peakRssBytes: number;
      outputDtype: string;
      outputShape: number[];
      /**
       * The backend the runtime actually ran every node on, from the runtime's own evidence
       * (ONNX Runtime's profile; the lite interpreter's operator list), never copied from the request.
       */
      backendUsed?: string;
      detail?: Record<string, unknown>;
    }
  | { status: 'error'; errorClass: BenchErrorClass; message: string }
  | { status: 'unsupported'; reason: string };

export function peakRssOfSelf(readStatus: () => string): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readStatus())?.[1];
  return kb ? Number(kb) * 1024 : -1;
}
