// One way to run the system tools the kernel and package fetchers need (apt-get, apt-cache,
// dpkg, dpkg-deb, depmod, tar, make): argument arrays, C locale, no prompts, sbin on PATH (a
// non-root user's PATH lacks it on Debian), cancellable, and every failure a
// HarnessError('kernel') naming the command and quoting its output.
import { execa, ExecaError } from 'execa';
import { HarnessError, stderrExcerpt } from '../errors.js';

export interface ToolOptions {
  readonly signal?: AbortSignal | undefined;
  readonly cwd?: string | undefined;
  /** What a missing command means for the user (added to "X not found"). */
  readonly missing?: string;
  /** Quote stdout too and keep more of it (compilers and make print their errors there). */
  readonly longOutput?: boolean;
}

/** Runs `cmd args`, resolves with its stdout. */
export async function runTool(cmd: string, args: readonly string[], opts: ToolOptions = {}): Promise<string> {
  try {
    const r = await execa(cmd, args, {
      cwd: opts.cwd,
      cancelSignal: opts.signal,
      env: { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` },
      encoding: 'utf8',
      stdin: 'ignore',
    });
    return r.stdout;
  } catch (e: unknown) {
    if (!(e instanceof ExecaError)) throw e;
    if (e.isCanceled) throw new HarnessError('kernel', `${cmd} cancelled`, { cause: e });
    if (e.code === 'ENOENT') throw new HarnessError('kernel', `${cmd} not found${opts.missing === undefined ? '' : `: ${opts.missing}`}`, { cause: e });
    const stderr = typeof e.stderr === 'string' ? e.stderr : '';
    const detail = opts.longOutput
      ? stderrExcerpt([stderr, typeof e.stdout === 'string' ? e.stdout : ''].join('\n').trim() || e.shortMessage, 12, 1500)
      : stderrExcerpt(stderr !== '' ? stderr : e.shortMessage);
    throw new HarnessError('kernel', `${cmd} ${args.join(' ')} failed: ${detail}`, { cause: e });
  }
}

/**
 * Runs `cmd args` with `input` on stdin and resolves with stdout as bytes, failing once stdout
 * passes `maxBytes` (a decompressor fed a hostile file must not fill the memory).
 */
export async function runToolBytes(cmd: string, args: readonly string[], input: Uint8Array, maxBytes: number, opts: ToolOptions = {}): Promise<Uint8Array> {
  try {
    const r = await execa(cmd, args, {
      cwd: opts.cwd,
      cancelSignal: opts.signal,
      env: { LC_ALL: 'C', PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` },
      encoding: 'buffer',
      input,
      maxBuffer: maxBytes,
    });
    return r.stdout;
  } catch (e: unknown) {
    if (!(e instanceof ExecaError)) throw e;
    if (e.isCanceled) throw new HarnessError('kernel', `${cmd} cancelled`, { cause: e });
    if (e.code === 'ENOENT') throw new HarnessError('kernel', `${cmd} not found${opts.missing === undefined ? '' : `: ${opts.missing}`}`, { cause: e });
    if (e.isMaxBuffer) throw new HarnessError('kernel', `${cmd} ${args.join(' ')} wrote more than ${maxBytes} bytes`, { cause: e });
    const raw: unknown = e.stderr;
    const stderr = raw instanceof Uint8Array ? new TextDecoder().decode(raw) : typeof raw === 'string' ? raw : '';
    throw new HarnessError('kernel', `${cmd} ${args.join(' ')} failed: ${stderrExcerpt(stderr !== '' ? stderr : e.shortMessage)}`, { cause: e });
  }
}
