// `ramoops layout`: the zones the kernel will carve out of the region for a configuration.
import type { Argv, CommandModule } from 'yargs';
import { computeLayout, describeVersion, LayoutError, type Layout, type RamoopsConfig } from '../../../src/index.js';
import { probeProblems } from '../../../src/validate/probe.js';
import { hasEvenZoneSizes, isPost49, pmsgBeforeFtrace } from '../../../src/kernel/version.js';
import { hexAddr, table } from '../../../src/report/table.js';
import { resolveConfig, withConfigOptions, type ConfigArgs } from '../config-options.js';
import { InputError } from '../input.js';

interface LayoutArgs extends ConfigArgs {
  json: boolean;
}

/** The layout for a config without a dump: the version's rules, the latest kernel's when none is given. */
export function layoutFor(config: RamoopsConfig): { layout: Layout; notes: string[] } {
  const v = config.kernel;
  const notes: string[] = [];
  const even = v ? hasEvenZoneSizes(v) : true;
  if (!v) notes.push('no --kernel-version: showing the layout of current kernels (6.6+)');
  if (even === 'unknown')
    notes.push(
      `${v ? describeVersion(v) : ''}: whether zone sizes are rounded to even is not known for this sublevel; shown with rounding (6.1.158+, 5.4.286+ and 6.6+ round)`,
    );
  const cpus = config.cpus ?? 1;
  if (config.ftracePerCpu && config.ftraceSize && config.cpus === undefined) notes.push('per-CPU ftrace: assuming 1 possible CPU (give --cpus N)');
  const layout = computeLayout(config, {
    post49: v ? isPost49(v) : true,
    pmsgFirst: v ? pmsgBeforeFtrace(v) : true,
    evenZones: even !== false,
    ftraceZones: cpus,
  });
  return { layout, notes };
}

/** The layout, or the kernel's refusal explained as `validate` explains it: one line with the reason and the fix. */
function layoutOrRefusal(config: RamoopsConfig): ReturnType<typeof layoutFor> {
  try {
    return layoutFor(config);
  } catch (e) {
    if (!(e instanceof LayoutError)) throw e;
    const why = probeProblems(config).problems.find((p) => p.severity === 'error');
    if (why === undefined) throw new InputError('', `the kernel refuses this configuration: "${e.message}" (ramoops validate explains more)`);
    throw new InputError('', `the kernel refuses this configuration: ${why.message}; fix: ${why.fix} (kernel: "${why.kernelMessage ?? e.message}")`);
  }
}

export const layoutCommand: CommandModule<object, LayoutArgs> = {
  command: 'layout',
  describe: 'print the zone layout the kernel computes for a ramoops configuration',
  builder: (y: Argv) =>
    withConfigOptions(y.option('json', { type: 'boolean', default: false, describe: 'print JSON' })).epilog(
      'Exit codes: 0 the layout; 2 a configuration the kernel refuses (one line: why, and what to change) or bad options.',
    ),
  handler: (a) => {
    const { config, warnings } = resolveConfig(a);
    const { layout, notes } = layoutOrRefusal(config);
    const zones = layout.zones.map((z) => ({
      kind: z.kind,
      index: z.index,
      address: z.address,
      size: z.geometry.size,
      payload: z.geometry.capacity,
      ecc: z.geometry.size - 12 - z.geometry.capacity,
    }));
    if (a.json) {
      process.stdout.write(
        JSON.stringify({ zones: zones.map((z) => ({ ...z, address: hexAddr(z.address) })), unused: layout.unused, notes, warnings }, null, 2) + '\n',
      );
      return;
    }
    process.stdout.write(
      table(
        ['kind', 'index', 'address', 'size', 'payload', 'ecc'],
        zones.map((z) => [z.kind, z.index, hexAddr(z.address), z.size, z.payload, z.ecc]),
      ) + '\n',
    );
    process.stdout.write(`${layout.zones.length} zones, ${layout.unused} bytes unused at the end\n`);
    for (const n of notes) process.stdout.write(`note: ${n}\n`);
    for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`);
  },
};
