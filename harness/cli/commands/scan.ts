// `ramoops scan`: find ramoops regions in a dump without being told where they are.
import type { Argv, CommandModule } from 'yargs';
import { parseSize } from '../../../src/index.js';
import { scan, type ScanResult } from '../../../src/scan/infer.js';
import { configAsCmdline, configAsDtNode } from '../../../src/scan/render.js';
import { openDumpFromArgs, withDumpOptions, type DumpArgs } from '../dump-options.js';
import { parallelFindAll } from '../../io/parallel-search.js';
import { progressBar } from '../progress.js';

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

export const scanCommand: CommandModule<object, ScanArgs> = {
  command: 'scan <dump>',
  describe: 'find ramoops regions in a dump and infer their configuration',
  builder: (y: Argv) =>
    withDumpOptions(y)
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .epilog('Exit codes: 0 at least one region found; 1 none found; 2 error.') as unknown as Argv<ScanArgs>,
  handler: async (a) => {
    const dump = openDumpFromArgs(a);
    let r: ScanResult;
    try {
      const bar = a.json ? undefined : progressBar('scanning');
      const progress = bar ? (d: number, t: number): void => bar.update(d, t) : undefined;
      let memory = dump.memory;
      if (dump.kind === 'raw') {
        // A raw file: the signature search is the only pass over all of it, so run it on every core.
        const base = parseSize('--base', a.base);
        const hits = await parallelFindAll(a.dump, DBGC, MAX_SIGNATURES, progress);
        memory = { ...memory, findAll: () => hits.map((o) => o + base) };
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
        process.stdout.write(`\n  kernel command line:\n    ${configAsCmdline(g.config)}\n\n  device tree:\n${configAsDtNode(g.config).replace(/^/gm, '    ')}\n`);
        if (g.alternatives.length) process.stdout.write(`\n  also possible:\n${g.alternatives.map((x) => '    ' + configAsCmdline(x)).join('\n')}\n`);
      }
      for (const u of r.unexplained) process.stdout.write(`\nnote: ${u.hits} signature(s) near 0x${u.address.toString(16)} fit no ramoops layout (stray bytes or a damaged region)\n`);
    }
    process.exitCode = r.regions.length ? 0 : 1;
  },
};
