// The configuration flags shared by extract, layout, validate (and later run): flags, a kernel
// command line, or a JSON file, merged as JSON < command line < flags.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import {
  buildConfig,
  mergeSettings,
  parseSize,
  settingsFromCmdline,
  settingsFromJson,
  type ConfigSettings,
  type RamoopsConfig,
  type Warning,
} from '../../src/index.js';

export interface ConfigArgs {
  'mem-address'?: string;
  'mem-size'?: string;
  'record-size'?: string;
  'console-size'?: string;
  'ftrace-size'?: string;
  'pmsg-size'?: string;
  ecc?: string;
  'kernel-version'?: string;
  cmdline?: string;
  config?: string;
  cpus?: number;
  compress?: string;
}

/** Add the configuration options to a command. */
export function withConfigOptions<T>(y: Argv<T>): Argv<T & ConfigArgs> {
  return y
    .option('mem-address', { type: 'string', group: 'Configuration:', describe: 'ramoops.mem_address: physical start of the region (decimal, 0x-hex, K/M/G)' })
    .option('mem-size', { type: 'string', group: 'Configuration:', describe: 'ramoops.mem_size: region size' })
    .option('record-size', {
      type: 'string',
      group: 'Configuration:',
      describe: 'ramoops.record_size: dmesg record size (kernel default 4096; rounded down to a power of two)',
    })
    .option('console-size', { type: 'string', group: 'Configuration:', describe: 'ramoops.console_size (default 4096)' })
    .option('ftrace-size', { type: 'string', group: 'Configuration:', describe: 'ramoops.ftrace_size (default 4096)' })
    .option('pmsg-size', { type: 'string', group: 'Configuration:', describe: 'ramoops.pmsg_size (default 4096)' })
    .option('ecc', { type: 'string', group: 'Configuration:', describe: 'ramoops.ecc: parity bytes per 128-byte block, 0 = off, 1 means 16' })
    .option('kernel-version', {
      type: 'string',
      group: 'Configuration:',
      describe:
        'the kernel that wrote/reads the region, as `uname -r` prints it (6.1.0-56-amd64, 6.12.117+deb12-amd64, 6.1.192); the format depends on it. Without it the layout is inferred from the zone signatures',
    })
    .option('cmdline', {
      type: 'string',
      group: 'Configuration:',
      describe: 'a kernel command line: its ramoops.* and pstore.* words are used, kernel defaults for the rest',
    })
    .option('config', {
      type: 'string',
      group: 'Configuration:',
      describe: 'a JSON file with settings (mem_address, mem_size, record_size, ..., kernelVersion, cpus)',
    })
    .option('cpus', {
      type: 'number',
      group: 'Configuration:',
      describe: 'possible-CPU count of the writing kernel (per-CPU ftrace zones); inferred when not given',
    })
    .option('compress', { type: 'string', group: 'Configuration:', describe: 'pstore.compress of the kernel (deflate, zstd, ...), when not in --cmdline' });
}

/** The merged settings (JSON < command line < flags) before defaults; warnings say what the kernel would reject. */
export function resolveSettings(a: ConfigArgs): { settings: ConfigSettings; warnings: readonly Warning[] } {
  const warnings: Warning[] = [];
  const json: ConfigSettings = a.config ? settingsFromJson(readFileSync(a.config, 'utf8'), a.config) : {};
  let cmd: ConfigSettings = {};
  if (a.cmdline !== undefined) {
    const parsed = settingsFromCmdline(a.cmdline);
    cmd = parsed.settings;
    warnings.push(...parsed.warnings);
  }
  const num = (field: string, v: string | undefined): number | undefined => (v === undefined ? undefined : parseSize(field, v));
  const flags: ConfigSettings = {
    memAddress: num('--mem-address', a['mem-address']),
    memSize: num('--mem-size', a['mem-size']),
    recordSize: num('--record-size', a['record-size']),
    consoleSize: num('--console-size', a['console-size']),
    ftraceSize: num('--ftrace-size', a['ftrace-size']),
    pmsgSize: num('--pmsg-size', a['pmsg-size']),
    ecc: num('--ecc', a.ecc),
    kernelVersion: a['kernel-version'],
    cpus: a.cpus,
    compress: a.compress,
  };
  return { settings: mergeSettings(json, cmd, flags), warnings };
}

/** Resolve the flags into one configuration; warnings say what the kernel would reject. */
export function resolveConfig(a: ConfigArgs): { config: RamoopsConfig; warnings: readonly Warning[] } {
  const { settings, warnings } = resolveSettings(a);
  const built = buildConfig(settings);
  return { config: built.config, warnings: [...warnings, ...built.warnings] };
}
