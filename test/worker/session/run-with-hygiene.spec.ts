import assert from 'node:assert/strict';
import pino from 'pino';
import type { DeviceSession, DeviceStateSnapshot } from '../../../services/worker/src/devices/device-session.js';
import { coolDown, RECENT_STATE_MS } from '../../../services/worker/src/session/run-with-hygiene.js';
import type { SessionDeps } from '../../../services/worker/src/session/session-deps.js';

const snapshot = (c: number): DeviceStateSnapshot => ({ takenAt: new Date().toISOString(), thermalZones: { cpu: c }, cpuFreqKhz: [], loadAvg: [0, 0, 0] });
const deps = { policy: { tempCeilingC: 45, cooldownPollMs: 10, cooldownMaxMs: 1000 } } as unknown as SessionDeps;
const log = pino({ level: 'silent' });

/** A device whose probes read `probeC(n)` °C, and whose last report ended at `recentC` °C (if any). */
function device(probeC: (n: number) => number, recentC?: number) {
  const calls = { probes: 0, recentAsked: [] as number[] };
  const session = {
    state: async () => snapshot(probeC(calls.probes++)),
    recentState: (maxAgeMs: number) => {
      calls.recentAsked.push(maxAgeMs);
      return recentC === undefined ? undefined : snapshot(recentC);
    },
  } as unknown as DeviceSession;
  return { session, calls };
}

describe('worker/session/run-with-hygiene coolDown (pure: no Redis, Postgres or Appium)', () => {
  it('starts no probe on the device when the last report ended recently below the ceiling', async () => {
    const { session, calls } = device(() => 30, 40);
    assert.equal(await coolDown(deps, session, log), undefined);
    assert.equal(calls.probes, 0);
    assert.deepEqual(calls.recentAsked, [RECENT_STATE_MS]);
  });

  it('probes the device when there is no recent report, and waits while it is hot', async () => {
    const { session, calls } = device((n) => (n < 2 ? 60 : 40));
    assert.equal(await coolDown(deps, session, log), undefined);
    assert.equal(calls.probes, 3, 'hot, hot, cool');
  });

  it('a recent hot end state is checked again on the device itself before the session', async () => {
    const { session, calls } = device(() => 41, 70);
    assert.equal(await coolDown(deps, session, log), undefined, 'cooled since the last session ended');
    assert.equal(calls.probes, 1);
    const still = device(() => 80, 70);
    assert.match((await coolDown({ ...deps, policy: { ...deps.policy, cooldownMaxMs: 30 } } as SessionDeps, still.session, log)) ?? '', /too hot: 80 °C/);
  });
});
