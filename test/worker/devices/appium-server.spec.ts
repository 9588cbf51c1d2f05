import assert from 'node:assert/strict';
import { startAppiumServer, type AppiumServer } from '../../../services/worker/src/devices/index.js';
import { ensureAppiumHome } from './support/appium-home.js';
import { testLogger } from './support/logger.js';

async function status(url: string): Promise<number> {
  try {
    return (await fetch(new URL('status', url), { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

/** Opens and closes a session with our driver: proof that it is installed in this Appium home. */
async function pocketbenchSession(url: string): Promise<string> {
  const r = await fetch(new URL('session', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ capabilities: { alwaysMatch: { platformName: 'Linux', 'appium:automationName': 'PocketbenchLinux', 'pocketbench:target': 'local' } } }),
  });
  const body = (await r.json()) as { value: { sessionId?: string; message?: string } };
  if (!body.value.sessionId) throw new Error(body.value.message);
  await fetch(new URL(`session/${body.value.sessionId}`, url), { method: 'DELETE' });
  return body.value.sessionId;
}

describe('startAppiumServer (supervised Appium 3)', function () {
  this.timeout(120_000);
  let server: AppiumServer | undefined;
  afterEach(async () => server?.stop());

  it('starts on a free 127.0.0.1 port with our driver installed', async () => {
    server = await startAppiumServer({ appiumHome: ensureAppiumHome(), logger: testLogger });
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(await status(server.url), 200);
    assert.match(await pocketbenchSession(server.url), /^[0-9a-f-]{36}$/);
  });

  it('comes back on the same port after it is killed, and after restart()', async () => {
    server = await startAppiumServer({ appiumHome: ensureAppiumHome(), logger: testLogger });
    const { url } = server;
    const first = server.pid!;
    process.kill(first, 'SIGKILL');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(server.pid && server.pid !== first && (await status(url)) === 200)) await new Promise((r) => setTimeout(r, 200));
    assert.notEqual(server.pid, first, 'supervisor restarted it');
    assert.equal(await status(url), 200);
    const second = server.pid!;
    await server.restart();
    assert.notEqual(server.pid, second);
    assert.equal(await status(url), 200);
  });

  it('stop() is final and idempotent', async () => {
    server = await startAppiumServer({ appiumHome: ensureAppiumHome(), logger: testLogger });
    const { url } = server;
    await server.stop();
    await server.stop();
    assert.equal(server.pid, undefined);
    assert.equal(await status(url), 0);
    await assert.rejects(server.restart(), /was stopped/);
    server = undefined;
  });
});
