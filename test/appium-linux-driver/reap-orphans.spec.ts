import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processStartTime, sessionClosed, sessionOpened } from '../../device-agents/appium-linux-driver/src/targets/harness-owner.js';
import { LocalTarget } from '../../device-agents/appium-linux-driver/src/targets/local-target.js';

/** A stand-in harness run: its own process group, its command line naming the work directory. */
function fakeHarness(workDir: string): ChildProcess {
  return spawn('sh', ['-c', 'sleep 60; true', path.join(workDir, 'runs', 'fake-harness')], { detached: true, stdio: 'ignore' });
}

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

describe('appium-linux-driver: reaping orphaned harness runs in a shared work directory', function () {
  this.timeout(30_000);
  let tmp: string;
  const procs: ChildProcess[] = [];
  const start = (p: ChildProcess) => (procs.push(p), p);

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'pb-reap-'));
  });
  after(async () => {
    for (const p of procs.filter(alive)) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        p.kill('SIGKILL'); // not a group leader
      }
    }
    await rm(tmp, { recursive: true, force: true });
  });

  it("kills only the runs whose Appium server or session is gone, never a live session's", async () => {
    const workDir = path.join(tmp, 'device');
    const target = new LocalTarget(workDir);
    const running = path.join(workDir, '.running');
    await mkdir(running, { recursive: true });
    const record = (pid: number, owner: unknown) => writeFile(path.join(running, String(pid)), typeof owner === 'string' ? owner : JSON.stringify(owner));

    // Another Appium server that is alive (any live process stands in for it), and one that died.
    const otherServer = start(spawn('sleep', ['60'], { stdio: 'ignore' }));
    const otherStart = await processStartTime(otherServer.pid!);
    assert.ok(otherStart);
    const deadServer = spawn('true', { stdio: 'ignore' });
    await new Promise((r) => deadServer.once('exit', r));

    const runs = {
      thisServerLiveSession: start(fakeHarness(workDir)),
      otherLiveServer: start(fakeHarness(workDir)),
      thisServerEndedSession: start(fakeHarness(workDir)),
      deadServer: start(fakeHarness(workDir)),
      reusedServerPid: start(fakeHarness(workDir)),
      noOwnerRecorded: start(fakeHarness(workDir)),
    };
    sessionOpened('live-session');
    try {
      await target.trackHarness(runs.thisServerLiveSession.pid!, 'live-session');
      await record(runs.otherLiveServer.pid!, { serverPid: otherServer.pid, serverStartTime: otherStart, sessionId: 'theirs' });
      await target.trackHarness(runs.thisServerEndedSession.pid!, 'ended-session');
      await record(runs.deadServer.pid!, { serverPid: deadServer.pid, serverStartTime: otherStart, sessionId: 's' });
      // The server's pid now runs another process: its start time differs.
      await record(runs.reusedServerPid.pid!, { serverPid: otherServer.pid, serverStartTime: `${Number(otherStart) - 1}`, sessionId: 's' });
      await record(runs.noOwnerRecorded.pid!, '');
      // A record of a run that already ended is dropped whoever owns it.
      await target.trackHarness(deadServer.pid!, 'live-session');

      assert.equal(await target.reapOrphans(), 4);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(alive(runs.thisServerLiveSession), true, 'a live session of this server keeps its run');
      assert.equal(alive(runs.otherLiveServer), true, 'a live session of another server keeps its run');
      for (const k of ['thisServerEndedSession', 'deadServer', 'reusedServerPid', 'noOwnerRecorded'] as const) {
        assert.equal(alive(runs[k]), false, `${k} was reaped`);
        assert.equal(existsSync(path.join(running, String(runs[k].pid))), false, `${k}'s record was removed`);
      }
      assert.equal(existsSync(path.join(running, String(runs.thisServerLiveSession.pid))), true);
      assert.equal(existsSync(path.join(running, String(deadServer.pid))), false);

      // Once that session ends its run is an orphan too.
      sessionClosed('live-session');
      assert.equal(await target.reapOrphans(), 1);
    } finally {
      sessionClosed('live-session');
    }
  });
});
