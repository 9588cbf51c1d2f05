// What this Appium server lets a session touch on its host, set by whoever starts the server
// (never by a session's capabilities): the directories it may work in, and the environment the
// harness gets. A client of the Appium port is not trusted with more than that.
import { existsSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errors } from '@appium/base-driver';

/** A file at the top of every work directory the driver made, so no work dir is mistaken for a harness or a root fs. */
export const WORK_DIR_MARK = '.pocketbench-workdir';

/**
 * Host directories sessions may use for work dirs, harness bundles, the emulated root fs and
 * SSH keys: `POCKETBENCH_DEVICE_ROOTS` (absolute paths separated by `:`).
 * @defaultValue `<tmpdir>/pocketbench-device`
 */
export function deviceRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.POCKETBENCH_DEVICE_ROOTS?.split(':').map((s) => s.trim()).filter(Boolean);
  const roots = raw?.length ? raw : [path.join(tmpdir(), 'pocketbench-device')];
  return roots.map((r) => resolveReal(path.resolve(r)));
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest (symlinks cannot lead out). */
export function resolveReal(p: string): string {
  let head = path.resolve(p);
  const rest: string[] = [];
  while (!existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) break;
    rest.unshift(path.basename(head));
    head = parent;
  }
  try {
    return path.join(realpathSync(head), ...rest);
  } catch {
    return path.join(head, ...rest);
  }
}

export const isInside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** Refuses a host path outside every device root; returns its real path. */
export function withinRoots(cap: string, p: string, roots = deviceRoots()): string {
  const real = resolveReal(p);
  if (!roots.some((r) => isInside(real, r) && real !== r)) {
    throw new errors.SessionNotCreatedError(
      `capability 'pocketbench:${cap}' (${p}) is outside the directories this Appium server allows (POCKETBENCH_DEVICE_ROOTS: ${roots.join(':')})`,
    );
  }
  return real;
}

/** Whether `p` lies in some session's work directory (a marked ancestor): files there came from a client. */
export function insideAWorkDir(p: string): boolean {
  let dir = resolveReal(p);
  for (;;) {
    if (existsSync(path.join(dir, WORK_DIR_MARK))) return true;
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

/**
 * The environment of everything the driver runs on a target (the harness parses untrusted
 * models): locale, paths and the harness's own settings, never the server's secrets.
 */
const PASSED = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM', 'XDG_RUNTIME_DIR', 'LD_LIBRARY_PATH',
  'POCKETBENCH_DATA_DIR', 'POCKETBENCH_PTL_RUNNER', 'POCKETBENCH_VULKANINFO',
]);
const PASSED_PREFIXES = ['LC_', 'VK_', 'MESA_'];

export function targetEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (PASSED.has(k) || PASSED_PREFIXES.some((p) => k.startsWith(p)))) out[k] = v;
  }
  return out;
}
