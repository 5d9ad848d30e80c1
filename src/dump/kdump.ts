// kdump-compressed ("diskdump") vmcores read by physical address: what makedumpfile -c/-l/-p/-z
// and QEMU's dump-guest-memory kdump-zlib/lzo/snappy write. A file is
//   block 0:                       disk_dump_header
//   blocks 1 .. sub_hdr_size:      kdump_sub_header (+ vmcoreinfo, notes, eraseinfo elsewhere)
//   next bitmap_blocks blocks:     1st bitmap (pfns that were RAM), then 2nd bitmap (pfns dumped)
//   then:                          one page_desc per set bit of the 2nd bitmap, in pfn order
//   then:                          page data
// We read the headers, pass once over the 2nd bitmap to build a coarse rank index (one number
// per 32768 pfns), and then read descriptors, bitmap blocks and pages on demand through small
// bounded caches: memory does not grow with the dump, beyond that index.
import { AddressNotCapturedError, DumpFormatError, TruncatedError, hex } from '../errors.js';
import { ByteReader } from '../bytes/reader.js';
import type { ByteSource, PhysicalMemory, PhysRange } from './memory.js';
import { parseNotes, type ElfNote } from './elf.js';
import { kdumpBitmaps } from './kdump-bitmaps.js';
import { kdumpGeometry, readExact, u64n } from './kdump-geometry.js';
import { kdumpPages } from './kdump-pages.js';
import { isKdump, KDUMP_SIGNATURE } from './magic.js';

export { isKdump, KDUMP_SIGNATURE };

// struct disk_dump_header (makedumpfile diskdump_mod.h; QEMU include/sysemu/dump.h
// DiskDumpHeader32/64, packed): signature[8], header_version u32, new_utsname (6 x char[65]),
// struct timeval, then status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr,
// total_ram_blocks, device_blocks, written_blocks, current_cpu, nr_cpus (u32 each). The timeval
// is 16 bytes on 64-bit writers and 8 on 32-bit ones, so `status` is at 424 or 412. Integers
// are in the dumped machine's byte order (QEMU: the guest's; makedumpfile: its host's).
const UTSNAME_AT = 12;
const UTS_FIELD = 65;
const STATUS_AT = { 64: 424, 32: 412 } as const;
const HEADER_SIZE = { 64: 464, 32: 452 } as const;

// struct kdump_sub_header (makedumpfile diskdump_mod.h; QEMU KdumpSubHeader32/64): field
// offsets per class. 32-bit writers pack the 64-bit fields at 4-byte alignment (i386 ABI and
// QEMU's QEMU_PACKED struct agree).
const SUB = {
  64: {
    size: 104,
    physBase: 0,
    dumpLevel: 8,
    split: 12,
    startPfn: 16,
    endPfn: 24,
    offVmcoreinfo: 32,
    sizeVmcoreinfo: 40,
    offNote: 48,
    sizeNote: 56,
    offErase: 64,
    sizeErase: 72,
    startPfn64: 80,
    endPfn64: 88,
    maxMapnr64: 96,
  },
  32: {
    size: 80,
    physBase: 0,
    dumpLevel: 4,
    split: 8,
    startPfn: 12,
    endPfn: 16,
    offVmcoreinfo: 20,
    sizeVmcoreinfo: 28,
    offNote: 32,
    sizeNote: 40,
    offErase: 44,
    sizeErase: 52,
    startPfn64: 56,
    endPfn64: 64,
    maxMapnr64: 72,
  },
} as const;

/** VMCOREINFO and note areas are read whole; real ones are a few KiB. */
const MAX_AREA = 64 << 20;

/** What the kdump headers say. */
export interface KdumpHeader {
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  readonly headerVersion: number;
  readonly utsname: {
    readonly sysname: string;
    readonly nodename: string;
    readonly release: string;
    readonly version: string;
    readonly machine: string;
    readonly domainname: string;
  };
  readonly status: number;
  readonly blockSize: number;
  readonly subHdrSize: number;
  readonly bitmapBlocks: number;
  readonly maxMapnr: number;
  readonly nrCpus: number;
  readonly physBase: bigint;
  readonly dumpLevel: number;
  /** Split dumps (makedumpfile --split) hold pfns [startPfn, endPfn) only. */
  readonly split: boolean;
  readonly startPfn: number;
  readonly endPfn: number;
  readonly vmcoreinfo: { readonly offset: number; readonly size: number } | undefined;
  readonly notes: { readonly offset: number; readonly size: number } | undefined;
  readonly eraseinfo: { readonly offset: number; readonly size: number } | undefined;
}

/** Physical memory of a kdump-compressed vmcore, with its headers, notes and VMCOREINFO. */
export interface KdumpMemory extends PhysicalMemory {
  readonly kdump: KdumpHeader;
  /** The VMCOREINFO text the writer stored, if any. */
  vmcoreinfo(): string | undefined;
  /** The ELF notes the writer stored (NT_PRSTATUS per CPU, VMCOREINFO, QEMU's CPU state). */
  notes(): readonly ElfNote[];
  /** Number of pages decompressed so far (cache misses), for benchmarks. */
  readonly pagesDecoded: number;
}

function cString(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Parses disk_dump_header and kdump_sub_header, deciding word size and byte order. */
export function parseKdumpHeader(source: ByteSource): KdumpHeader {
  const head = readExact(source, 0, HEADER_SIZE[32], 'kdump disk_dump_header');
  if (!isKdump(head)) throw new DumpFormatError('kdump', 0, 'no "KDUMP   " signature');
  const full = source.read(0, HEADER_SIZE[64]);
  // header_version is a small number (1..6 today): it tells the byte order.
  const le = new ByteReader(head, 'kdump header', true).u32At(8) <= 0xffff;
  const uts = (i: number): string => cString(head.subarray(UTSNAME_AT + i * UTS_FIELD, UTSNAME_AT + (i + 1) * UTS_FIELD));
  const machine = uts(4);
  // The timeval's size depends on the writer's word size; the fields after it must make sense
  // (block size a power of two, at least one sub-header and bitmap block, all inside the file).
  const shape = (bits: 32 | 64): { bs: number; end: number } | undefined => {
    if (full.length < HEADER_SIZE[bits]) return undefined;
    const r = new ByteReader(full, 'kdump header', le);
    const s = STATUS_AT[bits];
    const bs = r.u32At(s + 4);
    const sub = r.u32At(s + 8);
    const bm = r.u32At(s + 12);
    const ok = isPow2(bs) && bs >= 512 && bs <= 1 << 20 && sub >= 1 && sub < 1 << 16 && bm >= 1;
    return ok ? { bs, end: (1 + sub + bm) * bs } : undefined;
  };
  const s64 = shape(64);
  const s32 = shape(32);
  const ok64 = s64 !== undefined && s64.end <= source.size;
  const ok32 = s32 !== undefined && s32.end <= source.size;
  if (!ok64 && !ok32) {
    if (full.length < HEADER_SIZE[64]) throw new TruncatedError('kdump disk_dump_header', 0, HEADER_SIZE[64], full.length);
    const cut = s64 ?? s32;
    if (cut !== undefined) throw new TruncatedError('kdump headers and bitmaps', cut.bs, cut.end - cut.bs, Math.max(0, source.size - cut.bs));
    throw new DumpFormatError('kdump', STATUS_AT[64], 'block_size/sub_hdr_size/bitmap_blocks make no sense for a 64- or 32-bit header');
  }
  // Both can look plausible only by accident; the machine name breaks the tie.
  const bits: 32 | 64 = ok64 && ok32 ? (/^(i[3-6]86|arm(?!64)|ppc$|s390$|mips$|riscv32)/.test(machine) ? 32 : 64) : ok64 ? 64 : 32;
  const r = new ByteReader(full, 'kdump disk_dump_header', le);
  const s = STATUS_AT[bits];
  const headerVersion = r.u32At(8);
  const blockSize = r.u32At(s + 4);
  const subHdrSize = r.u32At(s + 8);
  const bitmapBlocks = r.u32At(s + 12);
  const maxMapnr32 = r.u32At(s + 16);
  const nrCpus = r.u32At(s + 36);

  const L = SUB[bits];
  const subBytes = readExact(source, blockSize, Math.min(L.size, subHdrSize * blockSize), 'kdump_sub_header');
  const sr = new ByteReader(subBytes, 'kdump_sub_header', le);
  const word = (at: number): number => (bits === 64 ? u64n(sr, at, blockSize) : sr.u32At(at));
  const has = (at: number, n: number): boolean => at + n <= subBytes.length;
  const physBase = bits === 64 ? sr.u64At(L.physBase) : BigInt(sr.u32At(L.physBase));
  const dumpLevel = headerVersion >= 1 && has(L.dumpLevel, 4) ? sr.u32At(L.dumpLevel) : 0;
  const split = headerVersion >= 2 && has(L.split, 4) ? sr.u32At(L.split) !== 0 : false;
  const maxMapnr = headerVersion >= 6 && has(L.maxMapnr64, 8) ? u64n(sr, L.maxMapnr64, blockSize) : maxMapnr32;
  let startPfn = 0;
  let endPfn = maxMapnr;
  if (split) {
    startPfn = headerVersion >= 6 ? u64n(sr, L.startPfn64, blockSize) : word(L.startPfn);
    endPfn = headerVersion >= 6 ? u64n(sr, L.endPfn64, blockSize) : word(L.endPfn);
  }
  const area = (version: number, offAt: number, sizeAt: number): { offset: number; size: number } | undefined => {
    if (headerVersion < version || !has(sizeAt, bits === 64 ? 8 : 4)) return undefined;
    const offset = u64n(sr, offAt, blockSize);
    const size = word(sizeAt);
    return offset > 0 && size > 0 ? { offset, size } : undefined;
  };
  return {
    bits,
    littleEndian: le,
    headerVersion,
    utsname: { sysname: uts(0), nodename: uts(1), release: uts(2), version: uts(3), machine, domainname: uts(5) },
    status: r.u32At(s),
    blockSize,
    subHdrSize,
    bitmapBlocks,
    maxMapnr,
    nrCpus,
    physBase,
    dumpLevel,
    split,
    startPfn,
    endPfn,
    vmcoreinfo: area(3, L.offVmcoreinfo, L.sizeVmcoreinfo),
    notes: area(4, L.offNote, L.sizeNote),
    eraseinfo: area(5, L.offErase, L.sizeErase),
  };
}

/** Opens a kdump-compressed vmcore (not flattened: see unflatten / openDump for that). */
export function openKdump(source: ByteSource, description = 'kdump vmcore'): KdumpMemory {
  const h = parseKdumpHeader(source);
  const g = kdumpGeometry(source, h);
  const bs = g.bs;
  const bitmaps = kdumpBitmaps(g);
  const pages = kdumpPages(g, bitmaps);
  let ranges: readonly PhysRange[] | undefined;

  return {
    description: `${description} (kdump v${h.headerVersion}, ${h.bits}-bit ${h.littleEndian ? 'LE' : 'BE'}, ${h.utsname.machine || '?'}, block ${bs})`,
    kdump: h,
    get pagesDecoded() {
      return pages.decoded();
    },
    ranges() {
      ranges ??= bitmaps.ranges();
      return ranges;
    },
    read(addr, len) {
      const out = new Uint8Array(len);
      let done = 0;
      while (done < len) {
        const a = addr + done;
        const pfn = Math.floor(a / bs);
        const off = a - pfn * bs;
        const n = Math.min(len - done, bs - off);
        const p = pages.page(pfn);
        if (typeof p === 'string') throw new AddressNotCapturedError(addr, len, `${hex(a)}: ${p}`);
        out.set(p.subarray(off, off + n), done);
        done += n;
      }
      return out;
    },
    vmcoreinfo() {
      if (!h.vmcoreinfo) return undefined;
      if (h.vmcoreinfo.size > MAX_AREA) throw new DumpFormatError('kdump', h.vmcoreinfo.offset, `VMCOREINFO of ${h.vmcoreinfo.size} bytes is implausible`);
      return new TextDecoder().decode(readExact(source, h.vmcoreinfo.offset, h.vmcoreinfo.size, 'kdump VMCOREINFO')).replace(/\0+$/, '');
    },
    notes() {
      if (!h.notes) return [];
      if (h.notes.size > MAX_AREA) throw new DumpFormatError('kdump', h.notes.offset, `note area of ${h.notes.size} bytes is implausible`);
      return parseNotes(readExact(source, h.notes.offset, h.notes.size, 'kdump notes'), h.littleEndian, 4, h.notes.offset);
    },
  };
}
