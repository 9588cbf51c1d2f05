import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { androidDeviceConfigs, discoverAndroidDevices, discoverLocalDevices, parseAdbDevices } from '../../../services/worker/src/devices/index.js';

describe('device discovery', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'pb-discover-'));
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  it('finds this machine in the host-<arch> pool', async () => {
    const devices = await discoverLocalDevices({ dataDir, hostname: 'Lab Box 1' });
    assert.equal(devices.length, 1);
    const [host] = devices;
    assert.equal(host.id, 'host-lab-box-1');
    assert.equal(host.pool, `host-${os.machine()}`);
    assert.equal(host.platform, 'linux');
    assert.equal(host.emulated, false);
    assert.equal(host.capabilities['pocketbench:target'], 'local');
    assert.equal(host.capabilities['pocketbench:workDir'], path.join(dataDir, 'devices', 'host-lab-box-1'));
  });

  it('adds the emulated arm64 device once its root filesystem exists, labelled as emulated', async () => {
    const rootfs = path.join(dataDir, 'qemu-arm64', 'rootfs');
    await mkdir(path.join(rootfs, 'usr/bin'), { recursive: true });
    await writeFile(path.join(rootfs, 'usr/bin/node'), '');
    const devices = await discoverLocalDevices({ dataDir, hostname: 'box' });
    const qemu = devices.find((d) => d.pool === 'qemu-arm64');
    assert.ok(qemu);
    assert.equal(qemu.id, 'qemu-arm64-box');
    assert.equal(qemu.emulated, true);
    assert.equal(qemu.poolLabel, 'qemu-arm64 (emulated)');
    assert.equal(qemu.arch, 'aarch64');
    assert.equal(qemu.capabilities['pocketbench:rootfs'], rootfs);
  });

  it('reads attached phones from `adb devices -l`, skipping unauthorised and offline ones', () => {
    const out = [
      '* daemon not running; starting now at tcp:5037',
      '* daemon started successfully',
      'List of devices attached',
      '1A2B3C4D5E6F           device usb:1-1.2 product:panther model:Pixel_7 device:panther transport_id:3',
      'R58N12ABCDE            unauthorized usb:1-1.3 transport_id:4',
      'emulator-5554          device product:sdk_gphone64_arm64 model:sdk_gphone64_arm64 device:emu64a transport_id:5',
      '0123456789             offline transport_id:6',
      '',
    ].join('\n');
    const parsed = parseAdbDevices(out);
    assert.deepEqual(parsed.map((d) => [d.serial, d.state]), [
      ['1A2B3C4D5E6F', 'device'],
      ['R58N12ABCDE', 'unauthorized'],
      ['emulator-5554', 'device'],
      ['0123456789', 'offline'],
    ]);
    assert.equal(parsed[0].model, 'Pixel_7');
    const configs = androidDeviceConfigs(parsed);
    assert.deepEqual(
      configs.map((c) => ({ id: c.id, pool: c.pool, emulated: c.emulated, udid: c.capabilities['appium:udid'] })),
      [
        { id: 'android-1a2b3c4d5e6f', pool: 'android-pixel_7', emulated: false, udid: '1A2B3C4D5E6F' },
        { id: 'android-emulator-5554', pool: 'android-sdk_gphone64_arm64', emulated: true, udid: 'emulator-5554' },
      ],
    );
  });

  it('finds no phones, without failing, on a machine without adb', async () => {
    assert.deepEqual(await discoverAndroidDevices({ adbPath: path.join(dataDir, 'no-adb-here') }), []);
  });
});
