import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TargetUnreachableError } from '../errors.js';
import { HostFsTarget } from './host-fs-target.js';
import type { ExecOptions, ExecResult } from './target.js';

/** The CPU qemu emulates; device-agents/qemu writes a matching /proc/cpuinfo into the root. */
export const QEMU_CPU = 'cortex-a72';
const BINFMT_ENTRY = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
/**
 * The BenchReport's memory.method on this target (one of the contract's PEAK_RSS_METHODS):
 * VmHWM read under qemu-user is the host-side high-water RSS of the emulator process, not the
 * runtime's own, so it must not compare as plain `VmHWM` with a real device's.
 */
export const QEMU_PEAK_RSS_METHOD = 'VmHWM-emulator-host';

/**
 * An emulated aarch64 Linux device: Debian arm64 node run by qemu-user from a root directory
 * (device-agents/qemu/build-rootfs.sh). Files are shared with the host. Its live state
 * (temperatures, frequencies, load) is the host's, which is what the emulation runs on, so it
 * is read with the host's node; its facts (arch, CPU) come from inside the emulation.
 */
export class QemuArm64Target extends HostFsTarget {
  readonly kind = 'qemu-arm64' as const;
  readonly emulated = true;
  /**
   * qemu-user passes /proc/self/status through, so the harness's VmHWM of its runner is the
   * host-side high-water RSS of the emulator process running it (guest memory plus qemu's own).
   */
  readonly peakRssMethod = QEMU_PEAK_RSS_METHOD;
  constructor(
    workDir: string,
    readonly rootfs: string,
    readonly qemuBinary = 'qemu-aarch64-static',
  ) {
    super(workDir);
  }

  static async open(workDir: string, rootfs: string): Promise<QemuArm64Target> {
    try {
      await access(path.join(rootfs, 'usr/bin/node'));
    } catch {
      throw new TargetUnreachableError(
        `no arm64 root filesystem at ${rootfs} (usr/bin/node missing); build it with device-agents/qemu/build-rootfs.sh`,
      );
    }
    // Without it the harness starts but its runner (an aarch64 child process) cannot.
    const binfmt = await readFile(BINFMT_ENTRY, 'utf8').catch(() => '');
    if (!binfmt.startsWith('enabled')) {
      throw new TargetUnreachableError(
        `binfmt_misc has no enabled qemu-aarch64 entry (${BINFMT_ENTRY}), so the harness's runner cannot start under emulation; as root: cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register (scripts/setup.d/40-qemu.sh does this)`,
      );
    }
    return new QemuArm64Target(workDir, rootfs);
  }

  nodeArgv(): string[] {
    return [this.qemuBinary, '-cpu', QEMU_CPU, '-L', this.rootfs, path.join(this.rootfs, 'usr/bin/node')];
  }

  /**
   * Processes that the emulated node starts (the harness's runner) are aarch64 too: the kernel
   * hands them to qemu through binfmt_misc (scripts/setup.d/40-qemu.sh registers Debian's
   * qemu-aarch64 entry), and these variables give that qemu the same root and CPU.
   */
  override exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return super.exec(argv, { ...opts, env: { ...opts.env, QEMU_LD_PREFIX: this.rootfs, QEMU_CPU } });
  }
}
