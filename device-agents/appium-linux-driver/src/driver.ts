import { tmpdir } from 'node:os';
import path from 'node:path';
import { BaseDriver, errors } from '@appium/base-driver';
import type { DefaultCreateSessionResult, DriverData, W3CDriverCaps } from '@appium/types';
import { desiredCapConstraints, type PocketbenchCaps } from './constraints.js';
import { executeMethodMap } from './execute-method-map.js';
import { TargetUnreachableError } from './errors.js';
import * as appManagement from './commands/app-management.js';
import * as deviceInfo from './commands/device-info.js';
import * as executeCmds from './commands/execute.js';
import * as fileActions from './commands/file-actions.js';
import * as harness from './commands/harness.js';
import * as shell from './commands/shell.js';
import { sessionClosed, sessionOpened } from './targets/harness-owner.js';
import { LocalTarget } from './targets/local-target.js';
import { QemuArm64Target } from './targets/qemu-target.js';
import { SshTarget } from './targets/ssh-target.js';
import { TARGET_KINDS, type Target } from './targets/target.js';

type Constraints = typeof desiredCapConstraints;
type MappedCommand = (typeof executeMethodMap)[keyof typeof executeMethodMap]['command'];

/** Reads `pocketbench:<name>` from the session's capabilities. */
function pocketbenchCaps(caps: Record<string, unknown>): PocketbenchCaps {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(caps)) {
    const m = /^(?:appium:)?pocketbench:(.+)$/.exec(k);
    if (m) out[m[1]] = v;
  }
  return out as unknown as PocketbenchCaps;
}

function capError(name: string, problem: string): Error {
  return new errors.SessionNotCreatedError(`capability 'pocketbench:${name}' ${problem}`);
}

/**
 * Appium driver for Linux benchmark targets. One session drives one target, chosen by the
 * `pocketbench:target` capability; every command runs through that target's `Target`.
 */
export class PocketbenchLinuxDriver extends BaseDriver<Constraints> {
  static executeMethodMap = executeMethodMap;
  /** Compile-time check: every `mobile:` method names a command of this class. */
  private static readonly mappedCommandsExist: MappedCommand extends keyof PocketbenchLinuxDriver ? true : never = true;
  private _target?: Target;

  constructor(opts = {} as ConstructorParameters<typeof BaseDriver>[0], shouldValidateCaps = true) {
    super(opts, shouldValidateCaps);
    this.desiredCapConstraints = desiredCapConstraints;
    this.locatorStrategies = [];
  }

  get target(): Target {
    if (!this._target) throw new errors.NoSuchDriverError('no session: the target is not open');
    return this._target;
  }

  override async createSession(
    w3cCapabilities1: W3CDriverCaps<Constraints>,
    w3cCapabilities2?: W3CDriverCaps<Constraints>,
    w3cCapabilities3?: W3CDriverCaps<Constraints>,
    driverData?: DriverData[],
  ): Promise<DefaultCreateSessionResult<Constraints>> {
    const [sessionId, caps] = await super.createSession(w3cCapabilities1, w3cCapabilities2, w3cCapabilities3, driverData);
    try {
      this._target = await this.openTarget(pocketbenchCaps(caps as Record<string, unknown>));
      // A target that cannot run node cannot run a harness: fail the session now, not the first job.
      const r = await this._target.exec([...this._target.nodeArgv(), '--version'], { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new TargetUnreachableError(`node does not start on the ${this._target.kind} target: ${r.stderr.trim().slice(-300)}`);
      sessionOpened(sessionId);
      const reaped = await this._target.reapOrphans();
      if (reaped) this.log.warn(`killed ${reaped} harness process group(s) whose Appium server or session is gone`);
      this.log.info(`session ${sessionId} on ${this._target.kind} target (node ${r.stdout.trim()}), work dir ${this._target.workDir}`);
    } catch (e) {
      sessionClosed(sessionId);
      await super.deleteSession(sessionId).catch(() => undefined);
      this._target = undefined;
      throw e;
    }
    return [sessionId, caps];
  }

  private async openTarget(c: PocketbenchCaps): Promise<Target> {
    if (!TARGET_KINDS.includes(c.target as never)) throw capError('target', `must be one of ${TARGET_KINDS.join(', ')} (got ${JSON.stringify(c.target)})`);
    if (c.workDir !== undefined && (typeof c.workDir !== 'string' || !path.isAbsolute(c.workDir))) throw capError('workDir', 'must be an absolute path');
    const workDir = c.workDir ? path.normalize(c.workDir) : undefined;
    switch (c.target) {
      case 'local':
        return new LocalTarget(workDir ?? path.join(tmpdir(), 'pocketbench-device', 'local'));
      case 'qemu-arm64':
        if (typeof c.rootfs !== 'string' || !path.isAbsolute(c.rootfs)) throw capError('rootfs', 'must be the absolute path of the arm64 root directory (device-agents/qemu/build-rootfs.sh)');
        return await QemuArm64Target.open(workDir ?? path.join(tmpdir(), 'pocketbench-device', 'qemu-arm64'), c.rootfs);
      default: {
        for (const k of ['host', 'user', 'keyPath'] as const) if (typeof c[k] !== 'string' || !c[k]) throw capError(k, 'is required for the ssh target');
        if (c.port !== undefined && !(Number.isInteger(c.port) && c.port > 0 && c.port < 65536)) throw capError('port', 'must be a TCP port number');
        if (c.knownHostsFile !== undefined && (typeof c.knownHostsFile !== 'string' || !path.isAbsolute(c.knownHostsFile))) throw capError('knownHostsFile', 'must be an absolute path');
        return new SshTarget({
          host: c.host!,
          user: c.user!,
          keyPath: c.keyPath!,
          port: c.port,
          nodePath: c.nodePath,
          knownHostsFile: c.knownHostsFile,
          workDir: workDir ?? '/tmp/pocketbench-device',
        });
      }
    }
  }

  override async deleteSession(sessionId?: string | null): Promise<void> {
    const id = sessionId ?? this.sessionId;
    if (id) sessionClosed(id);
    await this._target?.close().catch(() => undefined);
    this._target = undefined;
    await super.deleteSession(sessionId);
  }

  execute = executeCmds.execute;
  installApp = appManagement.installApp;
  isAppInstalled = appManagement.isAppInstalled;
  removeApp = appManagement.removeApp;
  pushFile = fileActions.pushFile;
  pullFile = fileActions.pullFile;
  mobilePushFile = fileActions.mobilePushFile;
  mobileFileHash = fileActions.mobileFileHash;
  mobileShell = shell.mobileShell;
  mobileDeviceInfo = deviceInfo.mobileDeviceInfo;
  mobileDeviceState = deviceInfo.mobileDeviceState;
  mobileRunHarness = harness.mobileRunHarness;
}
