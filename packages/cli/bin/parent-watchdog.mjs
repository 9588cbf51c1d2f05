// Loaded with `node --import` into every service `pocketbench up` / `pocketbench worker` starts.
// A SIGKILL of the supervisor alone gives it no chance to stop its children: each child watches
// the pid that started it and, once it is gone (re-parented), stops itself — SIGTERM first (the
// worker hands its job back, its Appium server follows through its own watchdog), SIGKILL 5 s later.
const parent = Number(process.env.POCKETBENCH_PARENT_PID);
if (parent > 1) {
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.stderr.write(`parent-watchdog: supervisor ${parent} is gone; stopping\n`);
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5000);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  timer.unref();
}
