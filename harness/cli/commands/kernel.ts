// `ramoops kernel build`: a small kernel from Debian's linux-source packages or a user's tree
// with the fragments of kernel-configs/. The image path goes to stdout alone, so scripts can
// take it with $(...); everything else goes to stderr.
import type { Argv, CommandModule } from 'yargs';
import { buildKernel, type BuildArch, DEBIAN_SOURCES, DEFAULT_CONFIGS, DEFAULT_SOURCE, describeMissing, type BuildProgress } from '../../kernel/build.js';

interface KernelBuildArgs {
  arch: string;
  source: string;
  config: string[];
  jobs?: number;
  nice: number;
  json: boolean;
}

const SPINNER = ['|', '/', '-', '\\'] as const;

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * Progress on stderr: on a terminal a spinner line with the file being compiled; otherwise a
 * line per phase and per 250 compiled files, so CI logs show life without flooding.
 */
export function buildProgressPrinter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (p: BuildProgress) => void; done: () => void } {
  const tty = stream.isTTY === true;
  let phase = '';
  let lastLine = 0;
  let lastDraw = 0;
  let turn = 0;
  let drawn = false;
  return {
    onProgress: (p) => {
      if (tty) {
        const now = Date.now();
        if (p.phase === phase && now - lastDraw < 100) return;
        lastDraw = now;
        phase = p.phase;
        const cols = Math.max(40, (stream.columns || 100) - 1);
        const what = p.phase === 'compile' ? `${p.compiled} files  ${p.current ?? ''}` : p.phase;
        stream.write(`\r\x1b[K${`${SPINNER[turn++ % SPINNER.length] ?? '|'} ${clock(p.elapsedMs)}  ${what}`.slice(0, cols)}`);
        drawn = true;
        return;
      }
      if (p.phase !== phase) {
        phase = p.phase;
        stream.write(`ramoops kernel build: ${p.phase} (${clock(p.elapsedMs)})\n`);
      }
      if (p.phase === 'compile' && p.compiled >= lastLine + 250) {
        lastLine = p.compiled;
        stream.write(`ramoops kernel build: ${p.compiled} files compiled, ${clock(p.elapsedMs)}: ${p.current ?? ''}\n`);
      }
    },
    done: () => {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

const buildCommand: CommandModule<object, KernelBuildArgs> = {
  command: 'build',
  describe: 'build a small kernel (tinyconfig + fragments, everything built in) and print its image path',
  builder: (y: Argv) =>
    y
      .option('arch', {
        type: 'string',
        choices: ['x86_64', 'arm64'],
        default: 'x86_64',
        describe:
          'x86_64 (bzImage) or arm64 (Image, cross-compiled with gcc-aarch64-linux-gnu, installed with apt when missing; use the arm64-virt fragment instead of base)',
      })
      .option('source', {
        type: 'string',
        default: DEFAULT_SOURCE,
        describe: `${Object.keys(DEBIAN_SOURCES).join(' or ')} (Debian's linux-source package, installed with apt when missing) or a clean kernel source directory`,
      })
      .option('config', {
        type: 'string',
        array: true,
        default: [...DEFAULT_CONFIGS],
        describe: 'fragments merged onto tinyconfig, in order: names in kernel-configs/ or file paths, comma-separated or repeated',
        coerce: (v: readonly string[]) =>
          v
            .flatMap((s) => s.split(','))
            .map((s) => s.trim())
            .filter((s) => s !== ''),
      })
      .option('jobs', { type: 'number', describe: 'make -j (default: the number of CPUs)' })
      .option('nice', { type: 'number', default: 10, describe: 'niceness of the compile, so guests booting beside it keep their timing' })
      .option('json', { type: 'boolean', default: false, describe: 'print the kernel artifacts as JSON instead of the image path' })
      .epilog(
        'Builds are cached by (source version, fragment contents); a user tree is rebuilt incrementally each time.\n' +
          'Options a fragment asks for that the kernel lacks are listed on stderr, not fatal.\n' +
          'Boot the result with: ramoops run --kernel PATH, or --kernel build:SOURCE:CONFIG,... to build on demand (with --arch arm64 for an arm64 build).\n' +
          'Exit codes: 0 built (or cached); 2 error.',
      ),
  handler: async (a) => {
    if (a.jobs !== undefined && !(Number.isInteger(a.jobs) && a.jobs > 0)) throw new Error(`--jobs must be a positive integer, got ${a.jobs}`);
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const progress = buildProgressPrinter();
    try {
      const k = await buildKernel({
        arch: a.arch as BuildArch,
        source: a.source,
        configs: a.config,
        jobs: a.jobs,
        niceness: a.nice,
        signal: ac.signal,
        onProgress: progress.onProgress,
        log: (line) => {
          progress.done();
          process.stderr.write(`ramoops ${line}\n`);
        },
      });
      progress.done();
      for (const m of k.missing) process.stderr.write(`ramoops kernel build: not in the kernel: ${describeMissing(m)}\n`);
      process.stderr.write(`ramoops kernel build: ${k.release}${k.cached ? ' (cached)' : `, built in ${k.buildSeconds.toFixed(0)} s`}\n`);
      process.stdout.write(a.json ? JSON.stringify(k, null, 2) + '\n' : `${k.kernelPath}\n`);
    } catch (e: unknown) {
      // Interrupted: the conventional 128+signal codes, like `ramoops run`.
      if (ac.signal.aborted) process.exitCode = 130;
      throw e;
    } finally {
      progress.done();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

/** `ramoops kernel <command>`: only `build` so far. */
export const kernelCommand: CommandModule<object, object> = {
  command: 'kernel <command>',
  describe: 'kernels for the harness (build)',
  builder: (y: Argv) => y.command(buildCommand as unknown as CommandModule<object, never>).demandCommand(1, 'name a kernel subcommand (build)'),
  handler: () => undefined,
};
