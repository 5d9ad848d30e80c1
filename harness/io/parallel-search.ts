// Find every occurrence of a byte pattern in a large file using one worker per core: the
// dump is split into slices searched concurrently. Memory is one buffer per worker.
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Offsets of `needle` in the file, ascending, at most `max`. */
export async function parallelFindAll(path: string, needle: Uint8Array, max: number, onProgress?: (done: number, total: number) => void): Promise<number[]> {
  const size = statSync(path).size;
  const n = Math.max(1, Math.min(availableParallelism(), Math.ceil(size / (64 << 20))));
  const slice = Math.ceil(size / n);
  let done = 0;
  const workers: Worker[] = [];
  try {
    const parts = await Promise.all(
      Array.from({ length: n }, (_, k) => {
        const start = k * slice;
        const end = Math.min(size, start + slice);
        return new Promise<number[]>((resolve, reject) => {
          const w = new Worker(new URL('./search-worker.js', import.meta.url), { workerData: { path, start, end, needle, max } });
          workers.push(w);
          w.on('message', (m: { progress?: number; done?: number[] }) => {
            if (m.progress !== undefined) {
              done += m.progress;
              onProgress?.(done, size);
            }
            if (m.done) resolve(m.done);
          });
          w.on('error', reject);
          w.on('exit', (code) => {
            if (code !== 0) reject(new Error(`search worker for ${path} [${start}, ${end}) exited with code ${code}`));
          });
        });
      }),
    );
    return parts.flat().slice(0, max);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
