/** Where a command runs and how a Linux target is reached. One implementation per kind. */
export const TARGET_KINDS = ['local', 'qemu-arm64', 'ssh'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface ExecOptions {
  /** Kill the process (group) after this long. */
  timeoutMs?: number;
  /** Written to the process's stdin, then closed. */
  stdin?: string | Buffer;
  cwd?: string;
  env?: Record<string, string>;
  /** Measure the process's peak RSS from the host side (GNU time's %M, i.e. the kernel's ru_maxrss). */
  measurePeakRss?: boolean;
  /** Called with the process (group) id once it runs. */
  onSpawn?: (pid: number) => void;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  /** Present when measurePeakRss was asked for and the target can measure it. */
  peakRssBytes?: number;
}

export interface Target {
  readonly kind: TargetKind;
  /** Directory on the target that holds installed harness versions, models, specs and reports. */
  readonly workDir: string;
  /** Whether the numbers measured here come from an emulator. */
  readonly emulated: boolean;
  /** argv prefix that runs the target's node (the harness runtime). */
  nodeArgv(): string[];
  /** argv prefix of a node that can read the target's live state cheaply (may be the host's under emulation). */
  stateNodeArgv(): string[];
  /** Runs argv on the target. Never rejects for a non-zero exit; rejects when the target cannot be reached. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  writeFile(path: string, data: Buffer): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** sha256 (hex) of a file on the target, or null when it does not exist. */
  sha256(path: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  /** Copies a directory of the Appium host to the target, atomically (temp dir, then rename). */
  copyDirIn(localDir: string, remoteDir: string): Promise<void>;
  remove(path: string): Promise<void>;
  /**
   * Kills harness processes whose owner is gone: started by an Appium server that died while
   * they ran, or by an ended session of this server (their group ids and owners are recorded in
   * the work directory). Runs of live sessions, of any server, are left alone. Returns how many
   * groups it killed.
   */
  reapOrphans(): Promise<number>;
  /** Records a running harness's process group id with its owner (this server, `sessionId`), and forgets it once it ended. */
  trackHarness(pid: number, sessionId: string): Promise<void>;
  untrackHarness(pid: number): Promise<void>;
  /** How the peak RSS that exec measures is obtained, for the report's peakRssMethod. */
  readonly peakRssMethod: string;
  close(): Promise<void>;
}
