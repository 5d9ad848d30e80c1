// ftrace records (struct pstore_ftrace_record: ip, parent_ip, ts; 64-bit native order), the
// per-CPU merge of pstore_ftrace_combine_log and the text of pstore_ftrace_seq_show
// (docs/format.md §9).
import { lookup, type SymbolTable } from './symbols.js';

export const FTRACE_RECORD_SIZE = 24;
const CPU_SHIFT = 8n;

function ts(buf: Uint8Array, off: number): bigint {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(off + 16, true);
}

/** Merge one zone's old log into the running buffer by counter, ascending, as the kernel does. */
export function combineFtrace(dest: Uint8Array, src: Uint8Array): Uint8Array {
  const R = FTRACE_RECORD_SIZE;
  const dOff = dest.length % R;
  const sOff = src.length % R;
  let dn = (dest.length - dOff) / R;
  let sn = (src.length - sOff) / R;
  const out = new Uint8Array((dn + sn) * R);
  let di = dOff;
  let si = sOff;
  let o = 0;
  while (dn > 0 && sn > 0) {
    // Strict '<': on equal counters the record of the later zone (src) goes first.
    if (ts(dest, di) >> CPU_SHIFT < ts(src, si) >> CPU_SHIFT) {
      out.set(dest.subarray(di, di + R), o);
      di += R;
      dn--;
    } else {
      out.set(src.subarray(si, si + R), o);
      si += R;
      sn--;
    }
    o += R;
  }
  out.set(dest.subarray(di, di + dn * R), o);
  o += dn * R;
  out.set(src.subarray(si, si + sn * R), o);
  return out;
}

function hex8(v: bigint): string {
  return v.toString(16).padStart(8, '0');
}

function sym(table: SymbolTable | undefined, addr: bigint, withOffset: boolean, shift: bigint): string {
  const r = table ? lookup(table, addr, shift) : undefined;
  if (!r) return '0x' + addr.toString(16);
  // __sprint_symbol: name, then "+0xOFF/0xSIZE" for %pS, then " [module]" for both.
  const base = withOffset ? `${r.name}+0x${r.offset.toString(16)}/0x${r.size.toString(16)}` : r.name;
  return r.module === undefined ? base : `${base} [${r.module}]`;
}

/**
 * The text the reading kernel shows for an ftrace record buffer of total length T (binary
 * record plus ECC notice: records are taken from offset T mod 24, a kernel quirk we keep).
 * Names are those of a kernel that added `shift` to the table's addresses (its KASLR offset
 * for a System.map; 0 for its own kallsyms).
 */
export function formatFtrace(buf: Uint8Array, format: '4.9' | '4.10' | '5.2', table: SymbolTable | undefined, shift = 0n): string {
  const R = FTRACE_RECORD_SIZE;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lines: string[] = [];
  for (let off = buf.length % R; off + R <= buf.length; off += R) {
    const ip = dv.getBigUint64(off, true);
    const parent = dv.getBigUint64(off + 8, true);
    const third = dv.getBigUint64(off + 16, true);
    const syms = `${sym(table, ip, false, shift)} <- ${sym(table, parent, true, shift)}`;
    if (format === '4.9') {
      lines.push(`${Number(third & 0xffffffffn)} ${hex8(ip)}  ${hex8(parent)}  ${syms}\n`);
    } else {
      lines.push(`CPU:${Number(third & 0xffn)} ts:${third >> CPU_SHIFT} ${hex8(ip)}  ${hex8(parent)}  ${syms}\n`);
    }
  }
  return lines.join('');
}
