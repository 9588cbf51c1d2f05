import path from 'node:path';
import { BaseDriver, errors } from '@appium/base-driver';
import type { AppiumServer, DefaultCreateSessionResult, DriverData, W3CDriverCaps } from '@appium/types';
import type { Express, NextFunction, Request, Response } from 'express';
import { desiredCapConstraints, type PocketbenchCaps } from './constraints.js';
import { executeMethodMap } from './execute-method-map.js';
import { TargetUnreachableError } from './errors.js';
import * as appManagement from './commands/app-management.js';
import * as deviceInfo from './commands/device-info.js';
import * as executeCmds from './commands/execute.js';
import * as fileActions from './commands/file-actions.js';
import * as harness from './commands/harness.js';
import { deviceRoots, insideAWorkDir, WORK_DIR_MARK, withinRoots } from './policy.js';
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

/** A request header exactly as the client sent it (Appium rewrites some before drivers see them). */
function rawHeader(req: Request, name: string): string | undefined {
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].toLowerCase() === name) return req.rawHeaders[i + 1];
  return undefined;
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

  /**
   * Every request to this Appium server that carries a body must say it is JSON. Appium would
   * otherwise take a body without Content-Type (or `text/plain`, which a web page may send
   * cross-site without a preflight) as JSON: a browser on this host could then drive it.
   */
  static async updateServer(_app: Express, httpServer: AppiumServer): Promise<void> {
    httpServer.frontRouter.use((req: Request, res: Response, next: NextFunction) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
      // Appium fills in a missing Content-Type before this runs: read what the client sent.
      const sent = rawHeader(req, 'content-type');
      const length = rawHeader(req, 'content-length');
      const bodyless = sent === undefined && (length === undefined || length === '0') && rawHeader(req, 'transfer-encoding') === undefined;
      if (bodyless || (sent !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(sent))) return next();
      res.status(415).json({
        value: {
          error: 'invalid argument',
          message: `requests to this Appium server must send Content-Type: application/json (got ${sent === undefined ? 'none' : JSON.stringify(sent.slice(0, 80))})`,
          stacktrace: '',
        },
      });
    });
  }

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
      // Marks the directory as one clients write to: never installed from, never a root fs.
      await this._target.writeFile(path.join(this._target.workDir, WORK_DIR_MARK), Buffer.from('pocketbench device work directory\n'));
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
    // Host paths come from the client: each must lie where the server's operator allows.
    const roots = deviceRoots();
    const hostWorkDir = (kind: string) => withinRoots('workDir', workDir ?? path.join(roots[0], kind), roots);
    switch (c.target) {
      case 'local':
        return new LocalTarget(hostWorkDir('local'));
      case 'qemu-arm64': {
        if (typeof c.rootfs !== 'string' || !path.isAbsolute(c.rootfs)) throw capError('rootfs', 'must be the absolute path of the arm64 root directory (device-agents/qemu/build-rootfs.sh)');
        const rootfs = withinRoots('rootfs', c.rootfs, roots);
        // Binaries there run under the emulator: never a directory clients write to.
        if (insideAWorkDir(rootfs)) throw capError('rootfs', 'is inside a device work directory');
        return await QemuArm64Target.open(hostWorkDir('qemu-arm64'), rootfs);
      }
      default: {
        for (const k of ['host', 'user', 'keyPath'] as const) if (typeof c[k] !== 'string' || !c[k]) throw capError(k, 'is required for the ssh target');
        if (c.port !== undefined && !(Number.isInteger(c.port) && c.port > 0 && c.port < 65536)) throw capError('port', 'must be a TCP port number');
        if (c.knownHostsFile !== undefined && (typeof c.knownHostsFile !== 'string' || !path.isAbsolute(c.knownHostsFile))) throw capError('knownHostsFile', 'must be an absolute path');
        if (!path.isAbsolute(c.keyPath!)) throw capError('keyPath', 'must be an absolute path');
        withinRoots('keyPath', c.keyPath!, roots);
        if (c.knownHostsFile) withinRoots('knownHostsFile', c.knownHostsFile, roots);
        if (c.nodePath !== undefined && (typeof c.nodePath !== 'string' || !/^\/[\w./+-]+$/.test(c.nodePath))) {
          throw capError('nodePath', 'must be the absolute path of node on the board');
        }
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
  mobileRemoveFile = fileActions.mobileRemoveFile;
  mobileDeviceInfo = deviceInfo.mobileDeviceInfo;
  mobileDeviceState = deviceInfo.mobileDeviceState;
  mobileRunHarness = harness.mobileRunHarness;
}
