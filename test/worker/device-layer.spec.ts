import assert from 'node:assert/strict';
import { hostDeviceNativeArch, type HarnessBundle, type NativeArch } from '../../services/worker/src/device-layer.js';
import type { DeviceConfig } from '../../services/worker/src/devices/device-session.js';

const device = (target: string, arch = 'x86_64'): DeviceConfig => ({
  id: `${target}-1`, name: target, platform: 'linux', pool: `p-${target}`, emulated: target === 'qemu-arm64', arch,
  capabilities: { 'pocketbench:target': target },
});
const built: HarnessBundle = { dir: '/x', version: 'n1' };

describe('worker/device-layer hostDeviceNativeArch (pure)', () => {
  it("runs this machine's own device on the native bundle of its arch when it is built (auto), never for node", async () => {
    const asked: NativeArch[] = [];
    const find = async (a: NativeArch) => (asked.push(a), built);
    assert.equal(await hostDeviceNativeArch(device('local'), 'auto', find), 'x86_64');
    assert.equal(await hostDeviceNativeArch(device('local', 'aarch64'), 'auto', find), 'aarch64');
    assert.deepEqual(asked, ['x86_64', 'aarch64']);
    assert.equal(await hostDeviceNativeArch(device('local'), 'node', find), undefined);
  });

  it('keeps the Node harness when no native bundle is built (auto) and builds one when told to (native)', async () => {
    const none = async () => undefined;
    assert.equal(await hostDeviceNativeArch(device('local'), 'auto', none), undefined);
    assert.equal(await hostDeviceNativeArch(device('local'), 'native', none), 'x86_64');
  });

  it('leaves other targets and unknown architectures alone', async () => {
    const find = async () => built;
    assert.equal(await hostDeviceNativeArch(device('ssh'), 'native', find), undefined);
    assert.equal(await hostDeviceNativeArch(device('qemu-arm64', 'aarch64'), 'auto', find), undefined);
    assert.equal(await hostDeviceNativeArch(device('local', 'riscv64'), 'native', find), undefined);
  });
});
