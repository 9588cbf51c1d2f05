/**
 * Resolves once `text` has been handed to the OS, or the reader is gone.
 * Needed before process.exit: to a pipe or socket (how a parent reads a runner or the CLI)
 * Node writes asynchronously once the kernel buffer is full, and exiting then drops the tail
 * of a large result (20,000 timed iterations are ~400 kB of JSON).
 */
export function writeFully(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    // EPIPE and the like: nobody is reading, so there is nothing left to wait for.
    const done = () => {
      stream.off('error', done);
      resolve();
    };
    stream.once('error', done);
    stream.write(text, done);
  });
}
