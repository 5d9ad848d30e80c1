// The CLI's one input-and-error layer: paths are checked before any work starts (an extraction
// that runs for a minute and then fails on `mkdir` wastes that minute), system errors become
// one line naming the flag and the path, and every refusal leaves through report() with the
// exit code README.md gives (2 for bad input) — as JSON on stdout when --json was asked for.
import { accessSync, constants, type Stats, mkdirSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Exit codes shared by every command (README.md): 130/143 are the shell's for SIGINT/SIGTERM. */
export const EXIT_CODE = { ok: 0, partial: 1, error: 2, skipped: 3, sigint: 130, sigterm: 143 } as const;

/** A refusal of what the user gave: one line, naming the flag (or argument; '' for usage errors) and what to do. */
export class InputError extends Error {
  constructor(
    readonly flag: string,
    message: string,
    readonly exitCode: number = EXIT_CODE.error,
  ) {
    super(flag ? `${flag}: ${message}` : message);
    this.name = 'InputError';
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'has a file where a folder is needed',
  EEXIST: 'already exists and is not a folder',
  EACCES: 'is not accessible (permission denied)',
  EPERM: 'is not accessible (operation not permitted)',
  ENOSPC: 'cannot be written: no space left on the device',
  EROFS: 'cannot be written: read-only file system',
};

/** stat, or undefined when nothing is there (or a file stands where a parent folder should be). */
function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    const code = errnoOf(e)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function errnoOf(e: unknown): { code: string; path?: string } | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e) || typeof e.code !== 'string') return undefined;
  const path = 'path' in e && typeof e.path === 'string' ? e.path : undefined;
  return path === undefined ? { code: e.code } : { code: e.code, path };
}

/** A system error as an InputError naming the flag and the path; anything else unchanged. */
export function explainSystemError(e: unknown, flag: string, path: string): unknown {
  const errno = errnoOf(e);
  const text = errno && ERRNO_TEXT[errno.code];
  if (!errno || !text) return e;
  const where = errno.path !== undefined && resolve(errno.path) !== resolve(path) ? `${path} (${errno.path})` : path;
  return new InputError(flag, `${where} ${text}`);
}

/** The dump (or any input file) exists, is a file and is readable; its size. */
export function checkInputFile(flag: string, path: string): number {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError(flag, `${path} is a folder; give the dump file itself`);
    accessSync(path, constants.R_OK);
    size = st.size;
  } catch (e) {
    throw explainSystemError(e, flag, path);
  }
  return size;
}

/** An input folder (a pstore copy) exists and can be listed. */
export function checkInputFolder(flag: string, path: string): void {
  try {
    if (!statSync(path).isDirectory()) throw new InputError(flag, `${path} is a file; give the folder that holds the pstore files`);
    accessSync(path, constants.R_OK | constants.X_OK);
  } catch (e) {
    throw explainSystemError(e, flag, path);
  }
}

/**
 * An output folder that can be created, or exists and is empty, or (with `force`) exists and
 * may be cleared. Only checks: call it before the work, prepareEmptyOutDir after.
 */
export function checkEmptyOutDir(flag: string, path: string, force: boolean): void {
  const abs = resolve(path);
  try {
    const st = statIfAny(abs);
    if (st && !st.isDirectory()) throw new InputError(flag, `${path} is a file; give a folder (it is created when missing)`);
    if (!st) return checkCreatable(flag, path);
    accessSync(abs, constants.W_OK);
    const old = readdirSync(abs).length;
    if (old && !force)
      throw new InputError(flag, `${path} is not empty (${old} entr${old === 1 ? 'y' : 'ies'}); choose an empty or new folder, or add --force to clear it`);
  } catch (e) {
    throw explainSystemError(e, flag, path);
  }
}

/**
 * The output folder, created or emptied (with `force`), so that it shows only what this run
 * wrote; its real path.
 */
export function prepareEmptyOutDir(flag: string, path: string, force: boolean): string {
  checkEmptyOutDir(flag, path, force);
  const abs = resolve(path);
  try {
    const existing = statIfAny(abs) ? readdirSync(abs) : [];
    for (const name of existing) rmSync(join(abs, name), { recursive: true, force: true });
    mkdirSync(abs, { recursive: true });
    return realpathSync(abs);
  } catch (e) {
    throw explainSystemError(e, flag, path);
  }
}

/** An output folder that exists or can be created (its nearest existing ancestor is a writable folder). */
export function checkOutDir(flag: string, path: string): void {
  const abs = resolve(path);
  try {
    const st = statIfAny(abs);
    if (st && !st.isDirectory()) throw new InputError(flag, `${path} is a file; give a folder (it is created when missing)`);
    if (st) accessSync(abs, constants.W_OK);
    else checkCreatable(flag, path);
  } catch (e) {
    throw explainSystemError(e, flag, path);
  }
}

function checkCreatable(flag: string, path: string): void {
  // Walks the path as given, so the message names what the user typed.
  let parent = dirname(path);
  for (;;) {
    const st = statIfAny(parent);
    if (st) {
      if (!st.isDirectory()) throw new InputError(flag, `${path} cannot be created: ${parent} is a file, not a folder`);
      accessSync(parent, constants.W_OK);
      return;
    }
    const up = dirname(parent);
    if (up === parent) return;
    parent = up;
  }
}

/** True when the arguments ask for JSON output (errors then go to stdout as JSON too). */
export function wantsJson(args: readonly string[]): boolean {
  return args.includes('--json');
}

/** Print an error as one line on stderr, or as {"error": ...} on stdout with --json; the exit code. */
export function reportError(e: unknown, args: readonly string[]): number {
  const errno = errnoOf(e);
  const err = errno?.path !== undefined ? explainSystemError(e, 'path', errno.path) : e;
  const exitCode = err instanceof InputError ? err.exitCode : EXIT_CODE.error;
  const message = err instanceof Error ? err.message : String(err);
  const flag = err instanceof InputError ? err.flag || null : err instanceof Error && 'field' in err && typeof err.field === 'string' ? err.field : null;
  if (wantsJson(args)) process.stdout.write(JSON.stringify({ error: { message, flag, exitCode } }, null, 2) + '\n');
  else process.stderr.write(`ramoops: ${message}\n`);
  return exitCode;
}
