// The emulated arm64 device against this machine, through the whole device layer (Appium, the
// Linux driver, the real harness). The bench itself lives beside the device tests
// (test/worker/devices/bench-emulation.ts, which docs/devices.md quotes); this runs it in its
// own process so `npm run bench` includes it. Arguments pass through: a comma-separated model
// list (default tiny_cnn,mobilenet_v2).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../test/worker/devices/bench-emulation.ts', import.meta.url));
const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), script, ...process.argv.slice(2)], { stdio: 'inherit' });
if (r.error) console.error(`bench/emulation.ts: cannot start ${script}: ${r.error.message}`);
process.exit(r.status ?? 1);
