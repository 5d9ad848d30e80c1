// One cache entry, one writer: a lock file holding the owner's pid, taken with O_EXCL. Used by
// every cache that more than one process may fill at once (kernels, builds, guest images).
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { HarnessError, type HarnessStage } from '../errors.js';

/** Who is waiting (for messages), and when to give up. */
export interface LockOptions {
  readonly stage: HarnessStage;
  readonly signal?: AbortSignal | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Serialises work on one cache entry between processes: parallel test files and CLI runs
 * would otherwise each download and unpack the same 400 MB. A lock whose owner died is taken over.
 */
export async function withLock<T>(
  lockPath: string,
  opts: LockOptions,
  fn: () => Promise<T>,
  { what = 'unpacking', maxWaitMinutes = 15 }: { readonly what?: string; readonly maxWaitMinutes?: number } = {},
): Promise<T> {
  const deadline = Date.now() + maxWaitMinutes * 60_000;
  let announced = false;
  for (;;) {
    try {
      await writeFile(lockPath, String(process.pid), { flag: 'wx' });
      break;
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = await readFile(lockPath, 'utf8').catch(() => '');
    const holder = Number(text);
    const age = await stat(lockPath).then((st) => Date.now() - st.mtimeMs, () => 0);
    // An empty lock is one being written right now, unless it has stayed empty for long.
    const stale = text === '' ? age > 10_000 : !Number.isInteger(holder) || holder <= 0 || !pidAlive(holder);
    if (stale) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (!announced) opts.log?.(`${opts.stage}: waiting for process ${holder} to finish ${what} (${lockPath})`);
    announced = true;
    if (opts.signal?.aborted === true) throw new HarnessError(opts.stage, 'cancelled while waiting for the cache lock');
    if (Date.now() > deadline) throw new HarnessError(opts.stage, `${lockPath} has been held by process ${holder} for ${maxWaitMinutes} minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
