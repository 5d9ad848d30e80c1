// `ramoops extract`: a dump in, the files /sys/fs/pstore would show out.
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError, extract, openDump, parseSize, parseSystemMap, type DumpFormat, type Extraction, type OpenDumpOptions, type QemuMachine } from '../../../src/index.js';
import { hexAddr, table } from '../../../src/report/table.js';
import { openFileSource } from '../../io/file-source.js';
import { prepareOutDir, writeConfined } from '../../artifacts.js';
import { resolveConfig, withConfigOptions, type ConfigArgs } from '../config-options.js';

interface ExtractArgs extends ConfigArgs {
  dump: string;
  base: string;
  format: DumpFormat | 'auto';
  machine?: QemuMachine;
  'ram-size'?: string;
  'system-map'?: string;
  out: string;
  json: boolean;
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
  };
}

/** The reader options the flags ask for; machine and RAM size only make sense for qemu-ram. */
function dumpOptions(a: ExtractArgs): OpenDumpOptions {
  if (a.format !== 'qemu-ram' && (a.machine !== undefined || a['ram-size'] !== undefined)) {
    throw new ConfigError('--machine/--ram-size', `only apply to --format qemu-ram (got --format ${a.format})`);
  }
  return {
    name: a.dump,
    format: a.format,
    base: parseSize('--base', a.base),
    ...(a.machine !== undefined ? { machine: a.machine } : {}),
    ...(a['ram-size'] !== undefined ? { ramSize: parseSize('--ram-size', a['ram-size']) } : {}),
  };
}

export const extractCommand: CommandModule<object, ExtractArgs> = {
  command: 'extract <dump>',
  describe: 'write the files the kernel would show in /sys/fs/pstore, from a RAM dump',
  builder: (y: Argv) =>
    withConfigOptions(
      y
        .positional('dump', { type: 'string', demandOption: true, describe: 'memory dump: raw, QEMU RAM file, ELF vmcore or kdump-compressed (flattened too)' })
        .option('format', {
          choices: ['auto', 'raw', 'elf', 'kdump', 'qemu-ram'] as const,
          default: 'auto' as const,
          describe: 'dump format; auto knows ELF and kdump (plain or flattened) by their magic, anything else is raw',
        })
        .option('base', { type: 'string', default: '0', describe: 'raw dumps: physical address of the dump\'s first byte' })
        .option('machine', { choices: ['q35', 'pc'] as const, describe: 'qemu-ram: the QEMU machine type (default q35), which decides the RAM map above 4 GiB' })
        .option('ram-size', { type: 'string', describe: 'qemu-ram: the guest RAM size (-m), e.g. 4608M (default: the file size)' })
        .option('system-map', { type: 'string', describe: 'System.map of the kernel, to symbolize ftrace records as the kernel does' })
        .option('out', { type: 'string', demandOption: true, describe: 'output folder (created); nothing is written outside it' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON report instead of the table' })
        .epilog('Exit codes: 0 extracted (ECC errors and undecodable records are reproduced as the kernel shows them);\n1 partial: some zones are not in the dump;\n2 error: bad configuration or input, nothing extracted.'),
    ) as unknown as Argv<ExtractArgs>,
  handler: (a) => {
    const { config, warnings: cfgWarnings } = resolveConfig(a);
    const source = openFileSource(a.dump);
    let x: Extraction;
    try {
      const symbols = a['system-map'] ? parseSystemMap(readFileSync(a['system-map'], 'utf8')) : undefined;
      x = extract(openDump(source, dumpOptions(a)), config, symbols ? { symbols } : {});
    } finally {
      source.close();
    }
    const dir = prepareOutDir(a.out);
    for (const f of x.files) writeConfined(dir, f.name, f.bytes, f.mtime);
    const warnings = [...cfgWarnings, ...x.warnings];
    if (a.json) {
      process.stdout.write(JSON.stringify({ ...(extractionJson(x, dir) as object), warnings }, null, 2) + '\n');
    } else {
      const rows = x.files.map((f) => [f.name, f.size, f.zones.map((z) => `${f.type === 'dmesg' || f.type === 'ftrace' ? z.index : 0}`).join(',') || '-', f.zones.map((z) => hexAddr(z.address)).join(',') || '-', eccText(f), f.notes.join('; ')]);
      process.stdout.write(table(['file', 'size', 'zone', 'address', 'ecc', 'notes'], rows) + '\n');
      process.stdout.write(`${x.files.length} file(s) written to ${dir}\n`);
      for (const d of x.decisions) process.stdout.write(`note: ${d}\n`);
      for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`);
    }
    process.exitCode = x.zones.some((z) => z.status === 'not-captured') ? EXIT.partial : EXIT.ok;
  },
};
