import { HostFsTarget } from './host-fs-target.js';

/** This machine: the harness runs under the node that runs Appium. */
export class LocalTarget extends HostFsTarget {
  readonly kind = 'local' as const;
  readonly emulated = false;
  readonly peakRssMethod = 'VmHWM';
  nodeArgv(): string[] {
    return [process.execPath];
  }
}
