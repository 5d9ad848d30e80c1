// Writing output files: names are checked and confined to the output folder, symlinks planted
// there are never followed, and dmesg files get the record time as mtime.
import { constants, mkdirSync, openSync, closeSync, writeSync, utimesSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class UnsafeNameError extends Error {
  constructor(readonly fileName: string) {
    super(`refusing to write "${fileName}": not a plain file name`);
    this.name = 'UnsafeNameError';
  }
}

/** Create (if needed) and return the real path of an output folder. */
export function prepareOutDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return realpathSync(dir);
}

/** Write one file inside `dir` (already prepared); never outside it, never through a symlink. */
export function writeConfined(dir: string, name: string, bytes: Uint8Array, mtime?: { seconds: number; nanoseconds: number }): string {
  if (!SAFE_NAME.test(name) || name === '.' || name === '..') throw new UnsafeNameError(name);
  const path = resolve(join(dir, name));
  if (!path.startsWith(resolve(dir) + sep)) throw new UnsafeNameError(name);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  } finally {
    closeSync(fd);
  }
  if (mtime) {
    const t = mtime.seconds + mtime.nanoseconds / 1e9;
    utimesSync(path, t, t);
  }
  return path;
}
