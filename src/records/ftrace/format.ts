// ftrace records (struct pstore_ftrace_record: unsigned long ip, unsigned long parent_ip, u64
// ts; the writing CPU's word size and byte order), the per-CPU merge of
// pstore_ftrace_combine_log and the text of pstore_ftrace_seq_show (docs/format.md §9).
import { ByteReader } from '../../bytes/reader.js';
import { DEFAULT_ABI, type CpuAbi } from '../../config/abi.js';
import { lookup, type SymbolTable } from './symbols.js';

/** sizeof(struct pstore_ftrace_record) on a 64-bit kernel (4.10+). */
export const FTRACE_RECORD_SIZE = 24;
/** TS_CPU_SHIFT: without PSTORE_CPU_IN_IP the CPU number takes the timestamp's low 8 bits. */
const CPU_SHIFT = 8n;

/** Where one record's fields sit, for a kernel's ABI and record format. */
export interface FtraceRecordLayout {
  readonly size: number;
  readonly parentAt: number;
  /** 4.10+: the u64 ts. */
  readonly tsAt: number | undefined;
  /** 4.9 without PSTORE_CPU_IN_IP: the `unsigned int cpu`. */
  readonly cpuAt: number | undefined;
}

/**
 * The record as the C compiler lays it out. 4.10+: {ip, parent_ip, u64 ts}, ts 8-aligned right
 * after the two words (24 bytes on 64-bit, 16 on 32-bit). 4.9 (fs/pstore/internal.h): {ip,
 * parent_ip, unsigned int cpu} without PSTORE_CPU_IN_IP (24 bytes padded on 64-bit, 12 on
 * 32-bit), {ip, parent_ip} with it.
 */
export function ftraceRecordLayout(abi: CpuAbi = DEFAULT_ABI, format: '4.9' | '4.10' | '5.2' = '5.2'): FtraceRecordLayout {
  const w = abi.wordBytes;
  if (format !== '4.9') return { size: 2 * w + 8, parentAt: w, tsAt: 2 * w, cpuAt: undefined };
  if (abi.cpuInIp) return { size: 2 * w, parentAt: w, tsAt: undefined, cpuAt: undefined };
  return { size: Math.ceil((2 * w + 4) / w) * w, parentAt: w, tsAt: undefined, cpuAt: 2 * w };
}

/** pstore_ftrace_read_timestamp: the whole ts with the CPU in ip, else ts >> TS_CPU_SHIFT. */
function timestamp(r: ByteReader, off: number, abi: CpuAbi): bigint {
  const ts = r.u64At(off + 2 * abi.wordBytes);
  return abi.cpuInIp ? ts : ts >> CPU_SHIFT;
}

/** Merge one zone's old log into the running buffer by counter, ascending, as the kernel does. */
export function combineFtrace(dest: Uint8Array, src: Uint8Array, abi: CpuAbi = DEFAULT_ABI): Uint8Array {
  const R = ftraceRecordLayout(abi).size;
  const dr = new ByteReader(dest, 'ftrace log', abi.littleEndian);
  const sr = new ByteReader(src, 'ftrace zone', abi.littleEndian);
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
    if (timestamp(dr, di, abi) < timestamp(sr, si, abi)) {
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
 * records plus ECC notice: records are taken from offset T mod the record size, a kernel quirk
 * we keep). Names are those of a kernel that added `shift` to the table's addresses (its KASLR
 * offset for a System.map; 0 for its own kallsyms). `abi` is the writing CPU's (default 64-bit
 * little-endian); the ip printed is the raw word, CPU bits included, as `%08lx` of rec->ip.
 */
export function formatFtrace(buf: Uint8Array, format: '4.9' | '4.10' | '5.2', table: SymbolTable | undefined, shift = 0n, abi: CpuAbi = DEFAULT_ABI): string {
  const L = ftraceRecordLayout(abi, format);
  const r = new ByteReader(buf, 'ftrace records', abi.littleEndian);
  const lines: string[] = [];
  for (let off = buf.length % L.size; off + L.size <= buf.length; off += L.size) {
    const ip = r.wordAt(off, abi.wordBytes);
    const parent = r.wordAt(off + L.parentAt, abi.wordBytes);
    const syms = `${sym(table, ip, false, shift)} <- ${sym(table, parent, true, shift)}`;
    // pstore_ftrace_decode_cpu: ip & PSTORE_CPU_IN_IP, else the cpu field (4.9) or ts's low 8 bits.
    if (format === '4.9') {
      const cpu = abi.cpuInIp ? Number(ip & BigInt(abi.cpuInIp)) : r.u32At(off + (L.cpuAt ?? 0));
      lines.push(`${cpu} ${hex8(ip)}  ${hex8(parent)}  ${syms}\n`);
    } else {
      const ts = r.u64At(off + (L.tsAt ?? 0));
      const cpu = abi.cpuInIp ? Number(ip & BigInt(abi.cpuInIp)) : Number(ts & 0xffn);
      lines.push(`CPU:${cpu} ts:${abi.cpuInIp ? ts : ts >> CPU_SHIFT} ${hex8(ip)}  ${hex8(parent)}  ${syms}\n`);
    }
  }
  return lines.join('');
}
