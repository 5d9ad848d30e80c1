// Worker half of parallelFindAll: search one slice of a file with a reused buffer and the
// native Buffer#indexOf, report progress, return the offsets found.
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface Job {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly needle: Uint8Array;
  readonly max: number;
}

// 1 MiB: the buffer stays in the core's cache between the copy and the search (16 MiB was 30% slower).
const CHUNK = 1 << 20;
// Progress messages cost a structured clone each: one per 64 MiB is enough for a bar.
const REPORT_EVERY = 64 << 20;
const job = workerData as Job;
const fd = openSync(job.path, 'r');
try {
  const pat = Buffer.from(job.needle);
  const buf = Buffer.allocUnsafe(CHUNK + pat.length - 1);
  const out: number[] = [];
  let unreported = 0;
  for (let pos = job.start; pos < job.end && out.length < job.max; pos += CHUNK) {
    // Read past the slice end by needle-1 bytes so a match straddling the boundary is seen once.
    const n = readSync(fd, buf, 0, buf.length, pos);
    const limit = Math.min(CHUNK, job.end - pos, n);
    const view = buf.subarray(0, n);
    for (let i = view.indexOf(pat); i >= 0 && i < limit && out.length < job.max; i = view.indexOf(pat, i + 1)) out.push(pos + i);
    unreported += Math.min(CHUNK, job.end - pos);
    if (unreported >= REPORT_EVERY) {
      parentPort?.postMessage({ progress: unreported });
      unreported = 0;
    }
  }
  if (unreported) parentPort?.postMessage({ progress: unreported });
  parentPort?.postMessage({ done: out });
} finally {
  closeSync(fd);
}
