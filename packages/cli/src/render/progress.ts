/** A one-line progress bar redrawn in place on a terminal (or printed at milestones when not a TTY). */
export class ProgressBar {
  private lastPrinted = -1;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly width = 30) {}

  update(done: number, total: number, label: string): void {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * this.width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${done}/${total} sessions ${label}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${bar}\x1b[K`);
    } else if (done !== this.lastPrinted) {
      this.stream.write(`${bar}\n`);
    }
    this.lastPrinted = done;
  }

  finish(): void {
    if (this.stream.isTTY && this.lastPrinted >= 0) this.stream.write('\n');
  }
}
