// The CLI's command list. Each command lives in its own file and exports a yargs CommandModule.
// Commands load on demand: `scan` and `extract` must not pay for ssh2, execa and the QEMU
// harness at start-up (a quarter of a second, as much as scanning a GiB).
import type { CommandModule } from 'yargs';

// Commands differ in their argument types; yargs only needs them as modules.
type AnyCommand = CommandModule<object, never>;
const as = (c: unknown): AnyCommand => c as AnyCommand;

const loaders: Readonly<Record<string, () => Promise<AnyCommand>>> = {
  extract: async () => as((await import('./extract.js')).extractCommand),
  harvest: async () => as((await import('./harvest.js')).harvestCommand),
  kernel: async () => as((await import('./kernel.js')).kernelCommand),
  layout: async () => as((await import('./layout.js')).layoutCommand),
  matrix: async () => as((await import('./matrix.js')).matrixCommand),
  report: async () => as((await import('./report.js')).reportCommand),
  run: async () => as((await import('./run.js')).runCommand),
  scan: async () => as((await import('./scan.js')).scanCommand),
  validate: async () => as((await import('./validate.js')).validateCommand),
};

/** The commands yargs needs for these arguments: only the named one, or all (for help and errors). */
export async function commandsFor(args: readonly string[]): Promise<readonly AnyCommand[]> {
  const first = args[0];
  const one = first !== undefined ? loaders[first] : undefined;
  return one ? [await one()] : Promise.all(Object.values(loaders).map((load) => load()));
}

/**
 * A command that can run without yargs for these arguments (only `scan`, whose start-up is
 * measured against ripgrep), or undefined: then yargs parses, validates and runs as usual.
 */
export async function fastCommand(args: readonly string[]): Promise<(() => Promise<void>) | undefined> {
  if (args[0] !== 'scan') return undefined;
  return (await import('./scan.js')).fastScan(args.slice(1));
}
