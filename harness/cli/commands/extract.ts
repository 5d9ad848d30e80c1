// `ramoops extract`: a dump in, the files /sys/fs/pstore would show out.
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import {
  ConfigError,
  extract,
  parseKallsyms,
  parseKaslrOffset,
  parseKernelVersion,
  parseSystemMap,
  type ExtractOptions,
  type Extraction,
  type RamoopsConfig,
  type Warning,
} from '../../../src/index.js';
import { scan } from '../../../src/scan/infer.js';
import { configAsCmdline } from '../../../src/scan/render.js';
import { withDumpOptions, openDumpFromArgs, type DumpArgs } from '../dump-options.js';
import { hexAddr, table } from '../../../src/report/table.js';
import { writeConfined } from '../../io/artifacts.js';
import { checkEmptyOutDir, checkInputFile, InputError, prepareEmptyOutDir } from '../input.js';
import { collapseWarnings } from '../warnings.js';
import { resolveConfig, withConfigOptions, type ConfigArgs } from '../config-options.js';
import { extractBackendFile, sniffBackend } from './extract-backend.js';

interface ExtractArgs extends ConfigArgs, DumpArgs {
  'system-map'?: string;
  kallsyms?: string;
  'kaslr-offset'?: string;
  out: string;
  force: boolean;
  verbose: boolean;
  json: boolean;
  auto: boolean;
  region: number;
  backend?: 'ramoops' | 'erst' | 'efi';
}

/** Exit codes, also shown in --help. */
export const EXIT = { ok: 0, partial: 1, error: 2 } as const;

function eccText(f: Extraction['files'][number]): string {
  if (!f.ecc) return '-';
  return f.ecc.corrected || f.ecc.unrecoverable ? `${f.ecc.corrected} fixed, ${f.ecc.unrecoverable} bad` : 'clean';
}

/** JSON view of an extraction (bytes omitted; sizes, places and findings kept). */
export function extractionJson(x: Extraction, outDir?: string): unknown {
  return {
    outDir,
    files: x.files.map((f) => ({
      name: f.name,
      type: f.type,
      id: f.id,
      size: f.size,
      length: f.bytes.length,
      mtime: f.mtime ?? null,
      zones: f.zones.map((z) => ({ index: z.index, address: hexAddr(z.address) })),
      ecc: f.ecc ?? null,
      compression: f.compression ?? null,
      notes: f.notes,
    })),
    zones: x.zones.map((z) => ({ ...z, address: hexAddr(z.address), ecc: z.ecc ?? null })),
    decisions: x.decisions,
    warnings: x.warnings,
    kernelOffset: x.kernelOffset === undefined ? null : { ...x.kernelOffset, value: `0x${x.kernelOffset.value.toString(16)}` },
    symbolShift: x.symbolShift === undefined ? null : { ...x.symbolShift, value: `0x${x.symbolShift.value.toString(16)}` },
  };
}

/** --system-map / --kallsyms / --kaslr-offset as extract options (one symbol source at most). */
export function symbolOptions(a: { 'system-map'?: string; kallsyms?: string; 'kaslr-offset'?: string }): ExtractOptions {
  if (a['system-map'] !== undefined && a.kallsyms !== undefined) throw new ConfigError('--kallsyms', 'give either --system-map or --kallsyms, not both');
  let kaslrOffset: ExtractOptions['kaslrOffset'];
  if (a['kaslr-offset'] !== undefined) {
    const v = parseKaslrOffset(a['kaslr-offset']);
    if (v === undefined)
      throw new ConfigError(
        '--kaslr-offset',
        `${JSON.stringify(a['kaslr-offset'])} is not a hex offset (e.g. 0x1e400000, as the panic's "Kernel Offset:" line prints it)`,
      );
    kaslrOffset = { value: v, source: '--kaslr-offset' };
  }
  const symbols =
    a['system-map'] !== undefined
      ? parseSystemMap(readFileSync(a['system-map'], 'utf8'))
      : a.kallsyms !== undefined
        ? parseKallsyms(readFileSync(a.kallsyms, 'utf8'))
        : undefined;
  return { ...(symbols === undefined ? {} : { symbols }), ...(kaslrOffset === undefined ? {} : { kaslrOffset }) };
}

const span = (start: number, end: number): string => `${hexAddr(start)}-${hexAddr(end)}`;

/**
 * An extraction that found nothing because it looked in the wrong place is an input error
 * (exit 2), said once: the region is not in the dump at all, or no zone in it has a ramoops
 * signature. Both usually mean --base or mem_address is wrong.
 */
function refuseUseless(x: Extraction, config: RamoopsConfig, covered: readonly { start: number; end: number }[]): void {
  if (x.files.length || !x.zones.length) return;
  const start = config.memAddress;
  const end = config.memAddress + config.memSize;
  const ranges = covered.filter((r) => r.end > r.start);
  const dumpSpan = ranges.length ? ranges.map((r) => span(r.start, r.end)).join(', ') : 'nothing (the file is empty)';
  if (x.zones.every((z) => z.status === 'not-captured')) {
    throw new InputError('', `the region ${span(start, end)} is not in a dump that covers ${dumpSpan}: is --base / mem_address right?`);
  }
  const captured = x.zones.filter((z) => z.status !== 'not-captured');
  if (captured.every((z) => z.status === 'bad-signature')) {
    throw new InputError(
      '',
      `no zone of the region ${span(start, end)} carries a ramoops signature (${captured.length} zone(s) in the dump checked): is --base / mem_address right, or try --auto`,
    );
  }
}

export const extractCommand: CommandModule<object, ExtractArgs> = {
  command: 'extract <dump>',
  describe: 'write the files the kernel would show in /sys/fs/pstore, from a RAM dump',
  builder: (y: Argv) =>
    withConfigOptions(
      withDumpOptions(y)
        .option('system-map', {
          type: 'string',
          describe:
            'System.map of the kernel, to symbolize ftrace records as the kernel does; shifted by the KASLR offset of the panic\'s "Kernel Offset:" line when a dmesg record has one',
        })
        .option('kallsyms', { type: 'string', describe: "a copy of /proc/kallsyms instead of --system-map: that boot's addresses, no offset applied" })
        .option('kaslr-offset', {
          type: 'string',
          describe:
            'name ftrace records as a kernel with this KASLR offset (hex) would: added to --system-map\'s addresses; wins over the dump\'s "Kernel Offset:" line',
        })
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'output folder (created); must be empty, so that it shows only this dump; nothing is written outside it',
        })
        .option('force', { type: 'boolean', default: false, describe: 'clear a non-empty --out folder first' })
        .option('verbose', { type: 'boolean', default: false, describe: 'print every warning, not one line per kind' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON report instead of the table' })
        .option('auto', {
          type: 'boolean',
          default: false,
          describe:
            'find the ramoops region and its configuration in the dump (as `ramoops scan` does) instead of being told; explicit --kernel-version, --cpus and --compress still apply',
        })
        .option('region', { type: 'number', default: 0, describe: 'with --auto: which of the regions found to extract (0 = the first)' })
        .option('backend', {
          choices: ['ramoops', 'erst', 'efi'] as const,
          describe:
            "what the file holds: ramoops (a RAM dump), erst (QEMU's acpi-erst memory backend file) or efi (an OVMF variable store, the VARS pflash file); default: known by the file's first bytes (ERSTSTOR magic, a variable firmware volume), else ramoops",
        })
        .epilog(
          'Exit codes: 0 extracted (ECC errors and undecodable records are reproduced as the kernel shows them);\n1 partial: some zones are not in the dump;\n2 error: bad configuration or input, nothing extracted.',
        ),
    ),
  handler: (a) => {
    // Before any work: a run that ends on a bad --out has wasted the extraction.
    const size = checkInputFile('dump', a.dump);
    checkEmptyOutDir('--out', a.out, a.force);
    const backend = a.backend ?? (a.format === 'auto' ? sniffBackend(a.dump) : undefined);
    if (backend === 'erst' || backend === 'efi') {
      if (a.auto)
        throw new InputError(
          '--auto',
          `finds ramoops regions in RAM dumps; ${a.dump} is ${a.backend ? 'given as' : 'recognised as'} a ${backend === 'erst' ? 'QEMU acpi-erst' : 'OVMF variable'} store, which needs no --auto`,
        );
      return extractBackendFile(a, backend, size);
    }
    if (a['system-map'] !== undefined) checkInputFile('--system-map', a['system-map']);
    if (a.kallsyms !== undefined) checkInputFile('--kallsyms', a.kallsyms);
    const dump = openDumpFromArgs(a);
    const covered = dump.memory.ranges();
    let x: Extraction;
    let cfgWarnings: readonly Warning[];
    const decisions: string[] = [];
    let config: RamoopsConfig;
    try {
      if (a.auto) {
        const found = scan(dump.memory).regions;
        const g = found[a.region];
        if (!g)
          throw new ConfigError(
            '--auto',
            found.length
              ? `only ${found.length} region(s) found; --region ${a.region} does not exist`
              : `no ramoops region found in ${a.dump}: no zone headers that fit a ramoops layout`,
          );
        const kernelVersion = a['kernel-version'];
        config = {
          ...g.config,
          ...(kernelVersion ? { kernel: parseKernelVersion(kernelVersion) } : {}),
          ...(a.cpus !== undefined ? { cpus: a.cpus } : {}),
          ...(a.compress !== undefined ? { compress: a.compress } : {}),
        };
        cfgWarnings = [];
        decisions.push(
          `--auto: region ${a.region} of ${found.length} found, confidence ${g.confidence}: ${configAsCmdline(config)}`,
          ...g.reasons.map((r) => `--auto: ${r}`),
        );
      } else {
        const r = resolveConfig(a);
        config = r.config;
        cfgWarnings = r.warnings;
      }
      const ex = extract(dump.memory, config, symbolOptions(a));
      x = { ...ex, decisions: [...decisions, ...ex.decisions] };
    } finally {
      dump.close();
    }
    refuseUseless(x, config, covered);
    const dir = prepareEmptyOutDir('--out', a.out, a.force);
    for (const f of x.files) writeConfined(dir, f.name, f.bytes, f.mtime);
    const warnings = [...cfgWarnings, ...x.warnings];
    if (a.json) {
      process.stdout.write(JSON.stringify({ ...(extractionJson(x, dir) as object), warnings }, null, 2) + '\n');
    } else {
      const rows = x.files.map((f) => [
        f.name,
        f.size,
        f.zones.map((z) => `${f.type === 'dmesg' || f.type === 'ftrace' ? z.index : 0}`).join(',') || '-',
        f.zones.map((z) => hexAddr(z.address)).join(',') || '-',
        eccText(f),
        f.notes.join('; '),
      ]);
      process.stdout.write(table(['file', 'size', 'zone', 'address', 'ecc', 'notes'], rows) + '\n');
      process.stdout.write(`${x.files.length} file(s) written to ${dir}\n`);
      for (const d of x.decisions) process.stdout.write(`note: ${d}\n`);
      for (const w of a.verbose ? warnings.map((w) => w.message) : collapseWarnings(warnings)) process.stderr.write(`warning: ${w}\n`);
    }
    process.exitCode = x.zones.some((z) => z.status === 'not-captured') ? EXIT.partial : EXIT.ok;
  },
};
