// A file-backed ByteSource: reads only what is asked, so multi-GiB dumps cost no memory.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ByteSource } from '../../src/index.js';

const SEARCH_CHUNK = 16 << 20;

/** Open `path` for random reads; call close() when done. */
export function openFileSource(path: string): ByteSource & { findAll: NonNullable<ByteSource['findAll']>; close(): void } {
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
    findAll(needle: Uint8Array, max: number, onProgress?: (done: number, total: number) => void): number[] {
      // One reused buffer and Buffer#indexOf (native search): several GB/s and constant memory.
      const chunk = Buffer.allocUnsafe(SEARCH_CHUNK + needle.length - 1);
      const pat = Buffer.from(needle);
      const out: number[] = [];
      for (let pos = 0; pos < size && out.length < max; pos += SEARCH_CHUNK) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
        const view = chunk.subarray(0, n);
        // Matches starting in the overlap belong to the next chunk.
        const limit = Math.min(SEARCH_CHUNK, n);
        for (let i = view.indexOf(pat); i >= 0 && i < limit && out.length < max; i = view.indexOf(pat, i + 1)) out.push(pos + i);
        onProgress?.(Math.min(pos + SEARCH_CHUNK, size), size);
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}
