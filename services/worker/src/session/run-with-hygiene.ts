import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BenchReport, BenchSpec, SessionJobData, SessionJobResult } from '@pocketbench/contracts';
import { checkSessionHygiene, checkTemperatureCeiling, checkThrottling, hygieneAction } from '@pocketbench/stats';
import type { DeviceSession } from '../devices/device-session.js';
import type { RunResult } from './classify-outcome.js';
import type { SessionDeps } from './session-deps.js';

/**
 * How old the previous report's end-of-session state may be to stand for the device's state now.
 * A device only cools while idle, so a reading from seconds ago errs towards waiting; the harness
 * records the state again before it runs, and throttling during the session is caught from that.
 */
export const RECENT_STATE_MS = 30_000;

/**
 * Session hygiene: a device above its temperature ceiling waits (cooldown) before the session.
 * Returns why the session must not count (still too hot after the longest cooldown), or undefined.
 * A device without thermal zones (most VMs) is never held. The first reading is the last report's
 * end-of-session state when it is recent (no process started on the device); waiting polls the device.
 */
export async function coolDown(deps: SessionDeps, session: DeviceSession, log: Logger): Promise<string | undefined> {
  const { tempCeilingC: ceilingC, cooldownPollMs: pollMs, cooldownMaxMs: maxMs } = deps.policy;
  const started = Date.now();
  let check = checkTemperatureCeiling((session.recentState?.(RECENT_STATE_MS) ?? (await session.state())).thermalZones, ceilingC);
  if (!check.overCeiling) return undefined;
  log.info({ maxC: check.maxC, ceilingC, maxWaitMs: maxMs }, 'device above its temperature ceiling; cooling down before the session');
  while (check.overCeiling && Date.now() - started < maxMs) {
    if (deps.shuttingDown?.()) break;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, maxMs - (Date.now() - started)))));
    check = checkTemperatureCeiling((await session.state()).thermalZones, ceilingC);
  }
  const waitedMs = Date.now() - started;
  if (!check.overCeiling) {
    log.info({ maxC: check.maxC, ceilingC, waitedMs }, 'device cooled down');
    return undefined;
  }
  const reason = `too hot: ${check.maxC} °C is above the ${ceilingC} °C ceiling after ${Math.round(waitedMs / 1000)} s of cooldown`;
  log.warn({ maxC: check.maxC, ceilingC, waitedMs }, 'device still too hot after the longest cooldown; running the session, marked unstable');
  return reason;
}

/**
 * Step 2: cooldown, then the harness on the device; an `ok` session that fails hygiene (CV,
 * drift) is run once more when that could help, and stays `unstable` with its reasons when the
 * re-run fails too; one whose device state shows throttling is stored `unstable` with why.
 * Faults propagate (with their errorClass) to the caller.
 */
export async function runWithHygiene(
  deps: SessionDeps,
  spec: BenchSpec,
  sessionJob: Job<SessionJobData, SessionJobResult>,
  log: Logger,
): Promise<Extract<RunResult, { ran: true }>> {
  const tooHot = await coolDown(deps, await deps.getSession(), log);
  for (let attempt = 1; ; attempt++) {
    const session = await deps.getSession();
    deps.onHarnessStart?.(sessionJob);
    log.info(
      { attempt, attemptsMade: sessionJob.attemptsMade, attemptsStarted: sessionJob.attemptsStarted, backend: spec.backend, iterations: spec.iterations },
      'harness start',
    );
    const report: BenchReport = await session.runHarness(spec);
    if (report.status !== 'ok') return { ran: true, report, unstableReasons: [], tooHot };
    // The device slowed itself down during the session: kept, flagged with the reason, left out
    // of verdicts; not rerun at once, the device being what it is right now.
    const throttle = checkThrottling(report.device?.before, report.device?.after, { ceilingC: deps.policy.tempCeilingC });
    if (throttle.throttled) return { ran: true, report, unstableReasons: [throttle.reason!], tooHot };
    const hygiene = checkSessionHygiene(report.timing?.iterationsUs ?? [], { cvCap: deps.policy.cvCap, driftCap: deps.policy.driftCap });
    const action = hygieneAction(hygiene, attempt);
    if (action === 'keep') return { ran: true, report, unstableReasons: [], tooHot };
    if (action === 'unstable') return { ran: true, report, unstableReasons: hygiene.reasons, tooHot };
    log.warn({ reasons: hygiene.reasons }, 'session failed hygiene; running it once more');
  }
}
