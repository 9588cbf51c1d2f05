import type { Backend, Runtime } from '@pocketbench/contracts';

/**
 * Backends the reference harness can run per runtime on Linux, and why the others cannot.
 * A backend missing here is reported `unsupported` with this reason; never run on another.
 */
export const UNSUPPORTED_REASONS: Record<Runtime, Partial<Record<Backend, string>>> = {
  onnxruntime: {
    xnnpack: 'onnxruntime-node is built without the XNNPACK execution provider',
    nnapi: 'NNAPI exists only on Android',
    coreml: 'Core ML exists only on Apple platforms',
  },
  'pytorch-lite': {
    xnnpack: "the XNNPACK delegate is not built into Debian's libtorch; backend cpu already runs XNNPACK kernels for models optimised for mobile",
    vulkan: "Debian's libtorch is built without the Vulkan backend",
    nnapi: 'NNAPI exists only on Android',
    coreml: 'Core ML exists only on Apple platforms',
  },
};

export const FORMAT_FOR_RUNTIME: Record<Runtime, string> = { onnxruntime: 'onnx', 'pytorch-lite': 'ptl' };
