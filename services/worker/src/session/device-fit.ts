import { inputBytes, type BenchInputSpec } from '@pocketbench/contracts';
import { ModelFaultError } from '../errors.js';

/**
 * Largest model one transfer to a device carries: the bytes travel base64-encoded in one
 * WebDriver command, and a JavaScript string holds at most about 512 MiB.
 */
export const MAX_TRANSFER_BYTES = 320 * 1024 * 1024;

/** Share of the device's memory all inputs of one inference may take (the harness and runtime hold copies). */
export const INPUT_MEMORY_SHARE = 1 / 8;

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/**
 * Checks, before a session starts, that the device can take what the submitted model and its
 * inputs ask for. What it cannot take is the model's fault (it fails the cell and never counts
 * towards the shared device's quarantine), found here rather than as a crash, an out-of-memory
 * kill or a string too long for the transfer.
 */
export function checkFitsDevice(model: { sizeBytes: number }, inputs: readonly BenchInputSpec[], device: { memoryBytes: number }): void {
  if (model.sizeBytes > MAX_TRANSFER_BYTES) {
    throw new ModelFaultError('model_too_large', `the model is ${mib(model.sizeBytes)}, more than the ${mib(MAX_TRANSFER_BYTES)} one transfer to a device carries`);
  }
  const memory = device.memoryBytes;
  if (!(memory > 0)) return; // a device that does not report its memory is not judged by it
  if (model.sizeBytes > memory) {
    throw new ModelFaultError('model_too_large', `the model is ${mib(model.sizeBytes)}, more than the device's ${mib(memory)} of memory`);
  }
  const bytes = inputBytes(inputs);
  if (bytes > memory * INPUT_MEMORY_SHARE) {
    throw new ModelFaultError(
      'input_too_large',
      `the inputs take ${mib(bytes)} per inference, more than the ${mib(memory * INPUT_MEMORY_SHARE)} (1/${1 / INPUT_MEMORY_SHARE} of the device's ${mib(memory)} of memory) a session may use for them`,
    );
  }
}
