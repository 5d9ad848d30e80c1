// One cache entry, one writer: an flock(2) on a lock file, held by a util-linux `flock` child
// whose command reads our stdin. When this process dies by any means the pipe closes, the child
// exits and the kernel drops the lock: a killed process never leaves a stale lock behind, and
// there is no pid-liveness guess (pid reuse, two waiters removing each other's fresh lock).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { HarnessError, type HarnessStage } from '../errors.js';

/** Who is waiting (for messages), and when to give up. */
export interface LockOptions {
  readonly stage: HarnessStage;
  readonly signal?: AbortSignal | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

/** The lock file withLock leaves beside a cache entry: `<entry>.lock`. */
export function isLockFile(name: string): boolean {
  return name.endsWith('.lock');
}

/**
 * The entries of a cache folder: the lock files left beside them (never removed, see withLock)
 * and dot-named work folders are not entries. Empty when the folder does not exist yet.
 */
export async function cacheEntryNames(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((): string[] => []);
  return names.filter((n) => !n.startsWith('.') && !isLockFile(n));
}

/** Exit code our flock child uses for "held by someone else". */
const BUSY = 75;

/** Tries once: the holding child if the lock was free, undefined if another process holds it. */
function tryLock(lockPath: string): Promise<ChildProcess | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['-n', '-E', String(BUSY), lockPath, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let settled = false;
    child.once('error', (e) => {
      settled = true;
      reject(new Error(`cannot run flock (util-linux) for ${lockPath}: ${e.message}`));
    });
    child.stdout?.once('data', () => {
      settled = true;
      resolve(child);
    });
    child.once('exit', (code) => {
      if (settled) return;
      settled = true;
      if (code === BUSY) resolve(undefined);
      else reject(new Error(`flock on ${lockPath} failed with exit code ${String(code)}`));
    });
  });
}

function release(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.stdin?.end();
  });
}

/**
 * Serialises work on one cache entry between processes: parallel test files and CLI runs
 * would otherwise each download and unpack the same 400 MB. The lock file is never removed
 * (removing it would let a second process lock a new inode while the first still holds the old).
 */
export async function withLock<T>(
  lockPath: string,
  opts: LockOptions,
  fn: () => Promise<T>,
  { what = 'unpacking', maxWaitMinutes = 15 }: { readonly what?: string; readonly maxWaitMinutes?: number } = {},
): Promise<T> {
  const deadline = Date.now() + maxWaitMinutes * 60_000;
  let announced = false;
  let holder: ChildProcess | undefined;
  for (;;) {
    holder = await tryLock(lockPath);
    if (holder !== undefined) break;
    const owner = (await readFile(lockPath, 'utf8').catch(() => '')).trim() || 'unknown';
    if (!announced) opts.log?.(`${opts.stage}: waiting for process ${owner} to finish ${what} (${lockPath})`);
    announced = true;
    if (opts.signal?.aborted === true) throw new HarnessError(opts.stage, 'cancelled while waiting for the cache lock');
    if (Date.now() > deadline) throw new HarnessError(opts.stage, `${lockPath} has been held by process ${owner} for ${maxWaitMinutes} minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    // Same inode (truncate, not replace): only for the waiting message naming the holder.
    await writeFile(lockPath, String(process.pid));
    return await fn();
  } finally {
    await release(holder);
  }
}
