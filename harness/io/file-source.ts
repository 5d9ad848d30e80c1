// A file-backed ByteSource: reads only what is asked, so multi-GiB dumps cost no memory.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ByteSource } from '../../src/index.js';

/** Open `path` for random reads; call close() when done. */
export function openFileSource(path: string): ByteSource & { close(): void } {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  return {
    size,
    read(pos: number, len: number): Uint8Array {
      const n = Math.max(0, Math.min(len, size - pos));
      const buf = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, pos + got);
        if (r <= 0) break;
        got += r;
      }
      return got === n ? buf : buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}
