// Loaded with `node --import` into the Appium server the worker starts (startAppiumServer). Appium
// runs in its own process group (so stopping it takes the drivers' harness processes too) and
// therefore does not die with a worker killed by SIGKILL: this watches the worker's pid and, once
// it is gone, kills Appium's whole group, so no Appium or harness outlives its worker.
const parent = Number(process.env.POCKETBENCH_APPIUM_PARENT_PID);
if (parent > 1) {
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.stderr.write(`appium-watchdog: worker ${parent} is gone; stopping this Appium server and its drivers\n`);
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      process.kill(process.pid, 'SIGKILL');
    }
  }, 500);
  timer.unref();
}
