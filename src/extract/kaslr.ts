// KASLR for naming ftrace records: the crashed boot's offset found in the dmesg files, and the
// shift applied to the symbol table (checked: a shift that names no record is the wrong one).
import { ByteReader } from '../bytes/reader.js';
import { DEFAULT_ABI } from '../config/abi.js';
import { hex } from '../errors.js';
import { ftraceRecordLayout } from '../records/ftrace/format.js';
import { lookup, type SymbolTable } from '../records/ftrace/symbols.js';
import { findKernelOffset } from '../records/ftrace/kaslr.js';
import type { Decoding } from './context.js';
import type { KaslrOffset, KernelOffset, PstoreFile } from './types.js';

/** The crashed boot's KASLR offset: the newest dmesg record (header time, then zone order) with a line. */
export function crashedKernelOffset({ files, warnings }: Decoding): KernelOffset {
  const offsets = files
    .filter((f) => f.type === 'dmesg' && !f.name.endsWith('.enc.z'))
    .map((f) => ({ f, found: findKernelOffset(new TextDecoder('latin1').decode(f.bytes)) }))
    .filter((o): o is { f: PstoreFile; found: NonNullable<typeof o.found> } => o.found !== undefined);
  const newest = offsets.reduce<(typeof offsets)[number] | undefined>(
    (best, o) => (best === undefined || (o.f.mtime?.seconds ?? 0) > (best.f.mtime?.seconds ?? 0) ? o : best),
    undefined,
  );
  const kernelOffset =
    newest === undefined ? undefined : { value: newest.found.offset === 'disabled' ? 0n : newest.found.offset, file: newest.f.name, line: newest.found.text };
  if (kernelOffset !== undefined && offsets.some((o) => (o.found.offset === 'disabled' ? 0n : o.found.offset) !== kernelOffset.value)) {
    warnings.push({
      code: 'kaslr-offsets-differ',
      message: `dmesg records come from boots with different KASLR offsets (${offsets.map((o) => `${o.f.name}: ${o.found.offset === 'disabled' ? 'disabled' : hex(o.found.offset)}`).join(', ')}); ftrace names use the newest, ${kernelOffset.file}'s, and records of other boots are named wrongly`,
    });
  }
  return kernelOffset;
}

export function chooseShift(ctx: Decoding, kernelOffset: KernelOffset, table: SymbolTable, buf: Uint8Array): KaslrOffset {
  const { options, decisions } = ctx;
  let shift: KaslrOffset;
  const what = table.origin === 'kallsyms' ? 'kallsyms' : 'System.map';
  if (options.kaslrOffset !== undefined) {
    shift = options.kaslrOffset;
    decisions.push(`ftrace names: ${what} shifted by KASLR offset ${hex(shift.value)} (${shift.source})`);
  } else if (table.origin === 'kallsyms') {
    shift = { value: 0n, source: "kallsyms addresses are the running boot's" };
    decisions.push("ftrace names: from the given kallsyms, whose addresses already carry its boot's KASLR offset (no shift)");
  } else if (kernelOffset !== undefined) {
    shift = { value: kernelOffset.value, source: `"${kernelOffset.line}" in ${kernelOffset.file}` };
    decisions.push(
      kernelOffset.value === 0n && /disabled/.test(kernelOffset.line)
        ? `ftrace names: System.map as it is ("Kernel Offset: disabled" in ${kernelOffset.file})`
        : `ftrace names: System.map shifted by the crashed boot's KASLR offset ${hex(kernelOffset.value)} ("${kernelOffset.line}" in ${kernelOffset.file}); the guest's own ftrace file is named by the boot that reads it, with that boot's offset`,
    );
  } else {
    shift = { value: 0n, source: 'no Kernel Offset line in the dump' };
    decisions.push('ftrace names: System.map as it is: no dmesg record has a "Kernel Offset:" line (under KASLR give --kaslr-offset or --kallsyms)');
  }
  checkShiftNames(ctx, kernelOffset, table, buf, shift, what);
  return shift;
}

/** A shift that names no record at all is the wrong one (or the wrong map). */
function checkShiftNames(
  { warnings, config }: Decoding,
  kernelOffset: KernelOffset,
  table: SymbolTable,
  buf: Uint8Array,
  shift: KaslrOffset,
  what: string,
): void {
  const abi = config.abi ?? DEFAULT_ABI;
  const R = ftraceRecordLayout(abi).size;
  const r = new ByteReader(buf, 'ftrace records', abi.littleEndian);
  let named = 0;
  let seen = 0;
  for (let off = buf.length % R; off + R <= buf.length && seen < 4096; off += R, seen++) if (lookup(table, r.wordAt(off, abi.wordBytes), shift.value)) named++;
  if (seen > 0 && named === 0) {
    const crashed =
      kernelOffset !== undefined && kernelOffset.value !== shift.value
        ? `; the dump's "${kernelOffset.line}" (${kernelOffset.file}) is the crashed boot's offset, which names the functions recorded (a guest's own file, read by a later boot with another offset, leaves them unnamed the same way)`
        : '';
    warnings.push({
      code: 'ftrace-unnamed',
      message: `no ftrace address falls inside the ${what}'s text with KASLR offset ${hex(shift.value)} (${shift.source}): the offset or the symbol file is not the recording kernel's${crashed}`,
    });
  }
}
