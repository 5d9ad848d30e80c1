// The decode step for ftrace: the per-CPU zones combined (or the one zone), the ECC notice
// appended, and the binary records printed as text with symbol names.
import type { CpuAbi } from '../config/abi.js';
import type { Zone } from '../layout/layout.js';
import { ftraceFormat } from '../kernel/version.js';
import { eccNotice } from '../zone/read.js';
import { combineFtrace, formatFtrace } from '../records/ftrace/format.js';
import { concat, type Decoding } from './context.js';
import { chooseShift } from './kaslr.js';
import type { KaslrOffset, KernelOffset } from './types.js';

interface Gathered {
  readonly buf: Uint8Array;
  readonly corrected: number;
  readonly unrecoverable: number;
  readonly used: readonly { index: number; address: number }[];
}

/** Adds the ftrace file, if the kernel would show one; returns the symbol shift used to name it. */
export function decodeFtrace(ctx: Decoding, kernelOffset: KernelOffset): KaslrOffset | undefined {
  if (ctx.stopped) return undefined;
  const { config, layout, options, rv, files } = ctx;
  const zs = layout.zones.filter((z) => z.kind === 'ftrace');
  if (!zs.length) return undefined;
  const got = layout.rules.post49 && config.ftracePerCpu ? gatherPerCpu(ctx, zs, config.abi) : gatherOne(ctx, zs[0]);
  // A zero-length record ends the kernel's read loop; ftrace is last, so nothing is lost.
  if (!got || got.buf.length === 0) return undefined;
  const ecc = config.eccSize ? { corrected: got.corrected, unrecoverable: got.unrecoverable } : undefined;
  const notice = eccNotice(ecc, ctx.prefix);
  const total = concat(got.buf, notice);
  const notes: string[] = [];
  let symbolShift: KaslrOffset | undefined;
  if (!options.symbols) notes.push('no System.map given: addresses are not symbolized (the kernel prints names)');
  else symbolShift = chooseShift(ctx, kernelOffset, options.symbols, total);
  const text = new TextEncoder().encode(
    formatFtrace(total, rv ? ftraceFormat(rv) : layout.rules.post49 ? '5.2' : '4.9', options.symbols, symbolShift?.value ?? 0n, config.abi),
  );
  files.push({
    name: 'ftrace-ramoops-0',
    type: 'ftrace',
    id: 0,
    bytes: text,
    size: total.length,
    mtime: undefined,
    zones: got.used,
    ecc,
    compression: undefined,
    notes,
  });
  return symbolShift;
}

/** undefined when no zone counts as read to the kernel. */
function gatherPerCpu({ reads }: Decoding, zs: readonly Zone[], abi: CpuAbi | undefined): Gathered | undefined {
  let buf: Uint8Array = new Uint8Array(0);
  let corrected = 0;
  let unrecoverable = 0;
  let any = false;
  const used: { index: number; address: number }[] = [];
  for (const z of zs) {
    const r = reads.get(z);
    if (!r) continue;
    // With ECC every zone counts (its notice makes it "ok" to the kernel), even an empty one.
    if (r.status !== 'ok' && !r.ecc) continue;
    if (r.ecc) {
      corrected += r.ecc.corrected;
      unrecoverable += r.ecc.unrecoverable;
    }
    any = true;
    if (r.oldLog.length) {
      buf = combineFtrace(buf, r.oldLog, abi);
      used.push({ index: z.index, address: z.address });
    }
  }
  return any ? { buf, corrected, unrecoverable, used } : undefined;
}

function gatherOne({ reads }: Decoding, z: Zone | undefined): Gathered | undefined {
  const r = z ? reads.get(z) : undefined;
  if (!z || !r || r.status !== 'ok') return undefined;
  return { buf: r.oldLog, corrected: r.ecc?.corrected ?? 0, unrecoverable: r.ecc?.unrecoverable ?? 0, used: [{ index: 0, address: z.address }] };
}
