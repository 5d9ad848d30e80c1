// The one pipeline: (physical memory, config) -> the files the kernel would show in
// /sys/fs/pstore, with per-zone reports and warnings. Everything else calls this.
// Steps over one growing context: locate the layout, read the zones, settle the reader's
// rules, then decode records into files in the kernel's read order.
import type { RamoopsConfig } from '../config/types.js';
import { rsDecodeMode, versionCode } from '../kernel/version.js';
import type { PhysicalMemory } from '../dump/memory.js';
import type { Decoding, Located, Run } from './context.js';
import { decodeDmesg } from './dmesg.js';
import { decodeFtrace } from './ftrace.js';
import { crashedKernelOffset } from './kaslr.js';
import { chooseLayout } from './layout.js';
import { readerRules } from './reader.js';
import { decodeSingle } from './single.js';
import type { ExtractOptions, Extraction, KaslrOffset } from './types.js';
import { readZones } from './zones.js';

export type { ExtractOptions, Extraction, KaslrOffset, PstoreFile, ZoneReport } from './types.js';

/** Reproduce /sys/fs/pstore for the ramoops region described by `config` in `mem`. */
export function extract(mem: PhysicalMemory, config: RamoopsConfig, options: ExtractOptions = {}): Extraction {
  const run = begin(mem, config, options);
  const located: Located = { ...run, layout: chooseLayout(mem, config, run.rsMode, run.decisions) };
  const zones = readZones(located);
  const ctx: Decoding = { ...zones, ...readerRules(zones), files: [], stopped: false };
  decodeDmesg(ctx);
  const kernelOffset = crashedKernelOffset(ctx);
  let symbolShift: KaslrOffset | undefined;
  // The kernel's read order: pmsg moved before ftrace in 4.10.
  decodeSingle(ctx, 'console');
  if (ctx.layout.rules.post49) {
    decodeSingle(ctx, 'pmsg');
    symbolShift = decodeFtrace(ctx, kernelOffset);
  } else {
    symbolShift = decodeFtrace(ctx, kernelOffset);
    decodeSingle(ctx, 'pmsg');
  }
  const { files, reports, layout, decisions, warnings, ftraceCode } = ctx;
  return { files, zones: reports, layout, decisions, warnings, ftraceVersionCode: ftraceCode, kernelOffset, symbolShift };
}

function begin(mem: PhysicalMemory, config: RamoopsConfig, options: ExtractOptions): Run {
  const v = config.kernel;
  const decisions: string[] = [];
  if (!v)
    decisions.push(
      'no kernel version given: layout chosen by zone signatures; reader behaviour from the ftrace signature if any, else of current kernels (ECC: prefix, deflate)',
    );
  return { mem, config, options, v, rsMode: v ? rsDecodeMode(v) : 'v5.3+', exactCode: v ? versionCode(v) : undefined, warnings: [], decisions };
}
