// `ramoops scan`: find ramoops regions in a dump without being told where they are.
// Start-up counts here (a 2 GiB raw dump takes a few tenths of a second): the handler starts
// the search over a raw file before it loads the readers and the inference code, which then
// load while the search runs, and plain argument lists skip yargs (parseScanArgs, main.ts).
import type { Argv, CommandModule } from 'yargs';
import type { ScanResult } from '../../../src/scan/infer.js';
import { configAsCmdline, configAsDtNode } from '../../../src/scan/render.js';
import { dumpKind, dumpOptions, openRawFromArgs, withDumpOptions, type DumpArgs } from '../dump-flags.js';
import { openFileSource } from '../../io/file-source.js';
import { parallelFindAll } from '../../io/parallel-search.js';
import { progressBar } from '../progress.js';
import { checkInputFile } from '../input.js';

const DBGC = Uint8Array.of(0x44, 0x42, 0x47, 0x43);
const MAX_SIGNATURES = 1 << 20;

interface ScanArgs extends DumpArgs {
  json: boolean;
}

/** JSON view of a scan (numbers as hex strings where they are addresses). */
export function scanJson(r: ScanResult): unknown {
  return {
    signaturesSeen: r.signaturesSeen,
    regions: r.regions.map((g) => ({
      memAddress: '0x' + g.config.memAddress.toString(16),
      memSize: '0x' + g.config.memSize.toString(16),
      recordSize: g.config.recordSize,
      consoleSize: g.config.consoleSize,
      ftraceSize: g.config.ftraceSize,
      pmsgSize: g.config.pmsgSize,
      ecc: g.config.eccSize,
      cpus: g.config.cpus ?? null,
      confidence: g.confidence,
      reasons: g.reasons,
      layoutRules: g.layoutLabel,
      kernelVersionCode: g.versionCode ?? null,
      cmdline: configAsCmdline(g.config),
      deviceTree: configAsDtNode(g.config),
      alternatives: g.alternatives.map((a) => configAsCmdline(a)),
    })),
    unexplained: r.unexplained.map((u) => ({ address: '0x' + u.address.toString(16), hits: u.hits })),
  };
}

const CHOICES: Readonly<Record<string, readonly string[]>> = {
  format: ['auto', 'raw', 'elf', 'kdump', 'qemu-ram'],
  machine: ['q35', 'pc', 'virt'],
};
const VALUED = new Set(['format', 'base', 'machine', 'ram-size']);

/**
 * The arguments after `scan` as yargs would give them to the handler, for the plain forms only:
 * one dump path and `--json`, `--format`, `--base`, `--machine`, `--ram-size` (value after a
 * space or `=`), each at most once. Anything else (help, short or unknown flags, `--no-…`, a
 * repeated flag, a bad choice, a path that yargs could read as a number or a boolean) gives
 * undefined, and yargs parses, validates and explains as usual.
 */
export function parseScanArgs(rest: readonly string[]): ScanArgs | undefined {
  let dump: string | undefined;
  let json = false;
  const values = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const tok = rest[i] ?? '';
    if (tok === '--json' && !json) {
      json = true;
      continue;
    }
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      const value = eq < 0 ? rest[++i] : tok.slice(eq + 1);
      if (!VALUED.has(name) || values.has(name) || value === undefined || value === '' || value.startsWith('-')) return undefined;
      const choices = CHOICES[name];
      if (choices && !choices.includes(value)) return undefined;
      values.set(name, value);
      continue;
    }
    // yargs-parser turns number-like and boolean-like words into values of their own.
    if (dump !== undefined || tok === '' || tok.startsWith('-') || /^(true|false)$|^[\d.+]|^0x/i.test(tok)) return undefined;
    dump = tok;
  }
  if (dump === undefined) return undefined;
  const machine = values.get('machine') as DumpArgs['machine'];
  const ramSize = values.get('ram-size');
  return {
    dump,
    json,
    format: (values.get('format') ?? 'auto') as DumpArgs['format'],
    base: values.get('base') ?? '0',
    ...(machine !== undefined ? { machine } : {}),
    ...(ramSize !== undefined ? { 'ram-size': ramSize } : {}),
  };
}

/** Run the scan the arguments ask for and print it. */
async function runScan(a: ScanArgs): Promise<void> {
  const bar = a.json ? undefined : progressBar('scanning');
  const progress = bar ? (d: number, t: number): void => bar.update(d, t) : undefined;
  // A raw file's only pass over all of it is the signature search: start it now, on every
  // core, and load the readers and the inference code while it runs. Errors come in the order
  // opening the dump gives them: the file, then the flags.
  checkInputFile('dump', a.dump);
  const head = openFileSource(a.dump);
  let kind: ReturnType<typeof dumpKind>;
  try {
    kind = dumpKind(a, () => head.read(0, Math.min(16, head.size)));
  } finally {
    head.close();
  }
  const { base } = dumpOptions(a);
  const search = kind === 'raw' ? parallelFindAll(a.dump, DBGC, MAX_SIGNATURES, progress) : undefined;
  // Awaited below; until then a failure must not count as unhandled.
  search?.catch(() => undefined);
  // A raw file needs no other reader.
  const [open, { scan }] = await Promise.all([
    kind === 'raw' ? openRawFromArgs : import('../dump-options.js').then((m) => m.openDumpFromArgs),
    import('../../../src/scan/infer.js'),
  ]);
  const dump = open(a);
  let r: ScanResult;
  try {
    let memory = dump.memory;
    if (search) {
      const hits = await search;
      memory = { ...memory, findAll: () => hits.map((o) => o + (base ?? 0)) };
    }
    r = scan(memory, bar ? (p) => bar.update(p.done, p.total) : undefined);
    bar?.done();
  } finally {
    dump.close();
  }
  if (a.json) process.stdout.write(JSON.stringify(scanJson(r), null, 2) + '\n');
  else {
    process.stdout.write(`${r.signaturesSeen} zone signature(s) seen, ${r.regions.length} ramoops region(s) found\n`);
    for (const g of r.regions) {
      process.stdout.write(`\nregion at 0x${g.config.memAddress.toString(16)}, ${g.config.memSize} bytes (confidence: ${g.confidence})\n`);
      for (const why of g.reasons) process.stdout.write(`  - ${why}\n`);
      process.stdout.write(
        `\n  kernel command line:\n    ${configAsCmdline(g.config)}\n\n  device tree:\n${configAsDtNode(g.config).replace(/^/gm, '    ')}\n`,
      );
      if (g.alternatives.length) process.stdout.write(`\n  also possible:\n${g.alternatives.map((x) => '    ' + configAsCmdline(x)).join('\n')}\n`);
    }
    for (const u of r.unexplained)
      process.stdout.write(`\nnote: ${u.hits} signature(s) near 0x${u.address.toString(16)} fit no ramoops layout (stray bytes or a damaged region)\n`);
  }
  process.exitCode = r.regions.length ? 0 : 1;
}

/** `scan` without yargs when parseScanArgs understands the arguments; undefined otherwise. */
export function fastScan(rest: readonly string[]): (() => Promise<void>) | undefined {
  const a = parseScanArgs(rest);
  return a && (() => runScan(a));
}

export const scanCommand: CommandModule<object, ScanArgs> = {
  command: 'scan <dump>',
  describe: 'find ramoops regions in a dump and infer their configuration',
  builder: (y: Argv) =>
    withDumpOptions(y)
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .epilog('Exit codes: 0 at least one region found; 1 none found; 2 error.'),
  handler: (a) => runScan(a),
};
