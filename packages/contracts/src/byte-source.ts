import { readSync } from 'node:fs';

/**
 * Random access to the bytes of an uploaded or cached file, for the readers of its structure
 * (zip directory, protobuf fields): a buffer already in memory, or a file read a window at a
 * time (models can be hundreds of MB; a reader touches a few KB of them).
 */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes from `pos`; a RangeError past the end (a reader checks its bounds first). */
  read(pos: number, length: number): Uint8Array;
}

export function bufferSource(buf: Uint8Array): ByteSource {
  return {
    size: buf.length,
    read(pos, length) {
      if (pos < 0 || length < 0 || pos + length > buf.length) throw new RangeError(`read past the end at ${pos}+${length} of ${buf.length}`);
      return buf.subarray(pos, pos + length);
    },
  };
}

/**
 * An open file (its descriptor) read through a window of at least `windowBytes`, synchronously:
 * a structure walk makes many small reads close to each other.
 * @defaultValue windowBytes 65536
 */
export function fileSource(fd: number, size: number, windowBytes = 64 * 1024): ByteSource {
  let window = Buffer.alloc(0);
  let windowStart = 0;
  return {
    size,
    read(pos, length) {
      if (pos < 0 || length < 0 || pos + length > size) throw new RangeError(`read past the end at ${pos}+${length} of ${size}`);
      if (pos < windowStart || pos + length > windowStart + window.length) {
        const len = Math.min(Math.max(length, windowBytes), size - pos);
        const buf = Buffer.alloc(len);
        let got = 0;
        while (got < len) {
          const n = readSync(fd, buf, got, len - got, pos + got);
          if (n === 0) throw new RangeError(`the file ended at ${pos + got} bytes, before the ${size} it had`);
          got += n;
        }
        window = buf;
        windowStart = pos;
      }
      return window.subarray(pos - windowStart, pos - windowStart + length);
    },
  };
}
