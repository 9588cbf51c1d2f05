export { PocketbenchLinuxDriver } from './driver.js';
export { executeMethodMap } from './execute-method-map.js';
export * from './errors.js';
export { TARGET_KINDS, type TargetKind } from './targets/target.js';
export { QEMU_CPU } from './targets/qemu-target.js';
