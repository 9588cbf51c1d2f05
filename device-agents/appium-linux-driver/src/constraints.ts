/** Capabilities this driver understands (W3C, `pocketbench:` vendor prefix). */
export const desiredCapConstraints = {
  platformName: { presence: true, isString: true, inclusionCaseInsensitive: ['Linux'] },
  automationName: { presence: true, isString: true, inclusionCaseInsensitive: ['PocketbenchLinux'] },
} as const;

export interface PocketbenchCaps {
  /** `local` | `qemu-arm64` | `ssh` */
  target: string;
  /** Directory on the target for harness versions, models, specs and reports. */
  workDir?: string;
  /** qemu-arm64: the arm64 root directory built by device-agents/qemu. */
  rootfs?: string;
  /** ssh */
  host?: string;
  user?: string;
  keyPath?: string;
  port?: number;
  nodePath?: string;
  knownHostsFile?: string;
}
