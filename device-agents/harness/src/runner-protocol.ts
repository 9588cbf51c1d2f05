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
  /**
   * Fidelity pass, after the timed loop and after VmHWM is read (never timed): `inputFiles[i]`
   * holds `count` samples of input i back to back (each the input's full shape and dtype); the
   * runner runs every sample once and appends all of the model's tensor outputs, in order, to
   * `outputFile` as little-endian float32, sample by sample. Native flags: `--fidelity-count N`,
   * `--fidelity-input FILE` (one per `--input`, same order), `--fidelity-output FILE`.
   */
  fidelity?: { count: number; inputFiles: string[]; outputFile: string };
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
      /** With a fidelity pass: every output of one sample, in the order written to the file. */
      fidelityOutputs?: { dtype: string; shape: number[] }[];
    }
  | { status: 'error'; errorClass: BenchErrorClass; message: string }
  | { status: 'unsupported'; reason: string };

export function peakRssOfSelf(readStatus: () => string): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readStatus())?.[1];
  return kb ? Number(kb) * 1024 : -1;
}
