// Find every occurrence of a byte pattern in a large file using one thread per core: the file
// is split into slices searched concurrently. The native addon does it when it is built (no
// isolate per worker, no copy into JS memory); otherwise worker threads with a reused buffer
// each. Both give the same answer, and memory stays a few MiB per thread whatever the size.
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { nativeFindAll } from './native-search.js';

export type SearchEngine = 'native' | 'js';

/** One thread per core, but no more than one per 64 MiB: starting a thread costs more than searching a little. */
function threadsFor(size: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(size / (64 << 20))));
}

/** The engine parallelFindAll uses here: native when the addon loads. */
export function searchEngine(): SearchEngine {
  return nativeFindAll() ? 'native' : 'js';
}

/** Which engine, and how many slices (default: one per core, at most one per 64 MiB); tests compare engines. */
export interface SearchOptions {
  readonly engine?: SearchEngine;
  readonly threads?: number;
}

/** Offsets of `needle` in the file, ascending, at most `max`. */
export async function parallelFindAll(
  path: string,
  needle: Uint8Array,
  max: number,
  onProgress?: (done: number, total: number) => void,
  opts: SearchOptions = {},
): Promise<number[]> {
  const size = statSync(path).size;
  const engine = opts.engine ?? searchEngine();
  const threads = opts.threads ?? threadsFor(size);
  const native = engine === 'native' ? nativeFindAll() : undefined;
  if (engine === 'native' && !native) throw new Error('the native search addon is not built (see scripts/build-native.mjs)');
  // The addon takes needles up to 4 KiB (one page of overlap between its windows).
  if (native && needle.length >= 1 && needle.length <= 4096) {
    let done = 0;
    const progress = onProgress
      ? (bytes: number): void => {
          done += bytes;
          onProgress(done, size);
        }
      : undefined;
    return native(path, needle, max, threads, progress);
  }
  return workerFindAll(path, size, needle, max, threads, onProgress);
}

async function workerFindAll(
  path: string,
  size: number,
  needle: Uint8Array,
  max: number,
  n: number,
  onProgress?: (done: number, total: number) => void,
): Promise<number[]> {
  // Loaded only here: with the addon, nothing else needs it.
  const { Worker } = await import('node:worker_threads');
  const slice = Math.ceil(size / n);
  let done = 0;
  const workers: InstanceType<typeof Worker>[] = [];
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
