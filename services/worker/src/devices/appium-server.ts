import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { DeviceUnavailableError } from './errors.js';

export interface AppiumServerOptions {
  /** APPIUM_HOME holding the installed drivers (scripts/setup.d/30-appium.sh: `<dataDir>/appium`). */
  appiumHome: string;
  logger: Logger;
  /** @defaultValue 0: a free port, chosen once and kept across restarts */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  address?: string;
  /** Appium's --allow-insecure features. @defaultValue ['*:adb_shell'] (UiAutomator2's mobile: shell) */
  allowInsecure?: string[];
  /**
   * Host directories the Linux driver's sessions may use (work dirs, harness bundles, the
   * emulated root fs, SSH keys): POCKETBENCH_DEVICE_ROOTS of the server.
   * @defaultValue [the data dir holding appiumHome]
   */
  deviceRoots?: string[];
  /** Restart when it exits on its own. @defaultValue true */
  autoRestart?: boolean;
  /** @defaultValue 60000 */
  startTimeoutMs?: number;
}

export interface AppiumServer {
  /** Base URL of the WebDriver endpoint, e.g. `http://127.0.0.1:4723/`. */
  readonly url: string;
  readonly port: number;
  /** pid of the running server, undefined while it is down. */
  readonly pid: number | undefined;
  /** Stops the server for good (idempotent); no auto-restart afterwards. */
  stop(): Promise<void>;
  /** Stops (if running) and starts again on the same port; resolves once it answers /status. */
  restart(): Promise<void>;
}

/** The appium CLI of the repo's node_modules (appium 3 is a root dependency). */
export function appiumEntry(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('appium/package.json')), 'index.js');
}

async function freePort(address: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new DeviceUnavailableError(`the Appium server exited during start (code ${child.exitCode ?? child.signalCode})`);
    try {
      const r = await fetch(new URL('status', url), { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new DeviceUnavailableError(`the Appium server did not answer ${url}status within ${timeoutMs} ms`);
}

/** What the Appium server (and the harness it starts) inherits: nothing secret of the worker's. */
const APPIUM_ENV = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM', 'XDG_RUNTIME_DIR', 'LD_LIBRARY_PATH',
  'ANDROID_HOME', 'ANDROID_SDK_ROOT', 'JAVA_HOME', 'POCKETBENCH_DATA_DIR', 'POCKETBENCH_PTL_RUNNER', 'POCKETBENCH_VULKANINFO',
]);

/** The Appium server's environment: an allow-list of the worker's (no DATABASE_URL, REDIS_URL or tokens). */
export function appiumEnvironment(env: NodeJS.ProcessEnv, extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (APPIUM_ENV.has(k) || /^(LC_|VK_|MESA_)/.test(k))) out[k] = v;
  }
  return { ...out, ...extra };
}

/**
 * Starts and supervises this host's Appium 3 server (127.0.0.1 unless `address` says otherwise). The port is fixed at
 * first start so that session URLs stay valid across restarts.
 */
export async function startAppiumServer(opts: AppiumServerOptions): Promise<AppiumServer> {
  const address = opts.address ?? '127.0.0.1';
  const port = opts.port || (await freePort(address));
  const url = `http://${address}:${port}/`;
  const log = opts.logger.child({ component: 'appium', port });
  const entry = appiumEntry();
  // The watchdog kills this server's group when the worker dies without stopping it (SIGKILL).
  const watchdog = pathToFileURL(fileURLToPath(new URL('./appium-watchdog.mjs', import.meta.url))).href;
  const args = ['--import', watchdog, entry, 'server', '--address', address, '--port', String(port), '--base-path', '/', '--log-no-colors', '--log-level', 'info'];
  for (const f of opts.allowInsecure ?? ['*:adb_shell']) args.push('--allow-insecure', f);

  let child: ChildProcess | undefined;
  let stopped = false;
  let recentCrashes: number[] = [];

  const spawnServer = async (): Promise<void> => {
    const c = spawn(process.execPath, args, {
      env: appiumEnvironment(process.env, {
        APPIUM_HOME: opts.appiumHome,
        POCKETBENCH_APPIUM_PARENT_PID: String(process.pid),
        POCKETBENCH_DEVICE_ROOTS: (opts.deviceRoots ?? [path.dirname(opts.appiumHome)]).join(':'),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: stop() takes the drivers' children with it
    });
    child = c;
    for (const stream of [c.stdout!, c.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (/\[(?:HTTP|Appium)\].*(?:error|Error)|Encountered internal error/.test(line)) log.warn(line);
        else log.debug(line);
      });
    }
    c.on('exit', (code, signal) => {
      if (child === c) child = undefined;
      if (stopped || (c as ChildProcess & { expectedExit?: boolean }).expectedExit) return;
      log.warn({ code, signal }, 'the Appium server exited unexpectedly');
      if (opts.autoRestart === false) return;
      const now = Date.now();
      recentCrashes = [...recentCrashes.filter((t) => now - t < 60_000), now];
      const delay = Math.min(30_000, 500 * 2 ** (recentCrashes.length - 1));
      setTimeout(() => {
        if (stopped || child) return;
        spawnServer().then(
          () => log.info('the Appium server is back'),
          (err) => log.error({ err: (err as Error).message }, 'restarting the Appium server failed'),
        );
      }, delay).unref();
    });
    try {
      await waitReady(url, c, opts.startTimeoutMs ?? 60_000);
    } catch (err) {
      killGroup(c);
      throw err;
    }
    log.info({ pid: c.pid, appiumHome: opts.appiumHome }, 'Appium server ready');
  };

  const killGroup = (c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') => {
    try {
      process.kill(-c.pid!, signal);
    } catch {
      /* gone already */
    }
  };

  const stopChild = async () => {
    const c = child;
    if (!c) return;
    (c as ChildProcess & { expectedExit?: boolean }).expectedExit = true;
    child = undefined;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    killGroup(c, 'SIGTERM');
    const t = setTimeout(() => killGroup(c), 5000);
    await exited;
    clearTimeout(t);
  };

  await spawnServer();
  return {
    url,
    port,
    get pid() {
      return child?.pid;
    },
    async stop() {
      stopped = true;
      await stopChild();
    },
    async restart() {
      if (stopped) throw new Error('the Appium server was stopped; start a new one');
      await stopChild();
      await spawnServer();
    },
  };
}
