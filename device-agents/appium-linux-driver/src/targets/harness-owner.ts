import { readFile } from 'node:fs/promises';

/**
 * Who started a harness run on a target: the Appium server process and its session. Several
 * servers (and sessions) may share a device work directory; a new session reaps only runs
 * whose owner is gone.
 */
export interface HarnessOwner {
  serverPid: number;
  /** The server's start time (field 22 of /proc/<pid>/stat), so a reused pid is not taken for it. */
  serverStartTime: string;
  sessionId: string;
}

/** Sessions open in this Appium server: every session's driver runs in this process. */
const liveSessions = new Set<string>();

export function sessionOpened(sessionId: string): void {
  liveSessions.add(sessionId);
}

export function sessionClosed(sessionId: string): void {
  liveSessions.delete(sessionId);
}

/** Start time of a process in clock ticks since boot, or null when it does not exist. */
export async function processStartTime(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return stat && fields.length > 19 ? fields[19] : null;
}

let selfStartTime: Promise<string | null> | undefined;

export async function currentOwner(sessionId: string): Promise<HarnessOwner> {
  selfStartTime ??= processStartTime(process.pid);
  return { serverPid: process.pid, serverStartTime: (await selfStartTime) ?? '', sessionId };
}

/** Parses a run record; undefined for anything else (records written before owners were kept). */
export function parseOwner(text: string): HarnessOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<HarnessOwner>;
    if (Number.isInteger(o.serverPid) && typeof o.serverStartTime === 'string' && typeof o.sessionId === 'string') return o as HarnessOwner;
  } catch {
    /* not a record of this format */
  }
  return undefined;
}

/**
 * Whether nobody owns a run any more: its server process is dead (or its pid now belongs to
 * another process), or it is this server and the session has ended. A run without a known
 * owner counts as orphaned, as before owners were recorded.
 */
export async function ownerIsGone(owner: HarnessOwner | undefined): Promise<boolean> {
  if (!owner) return true;
  const start = await processStartTime(owner.serverPid);
  if (start === null || start !== owner.serverStartTime) return true;
  if (owner.serverPid === process.pid) return !liveSessions.has(owner.sessionId);
  // Another live server: its session's runs are bounded by their own budgets there.
  return false;
}
