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
import { AddressNotCapturedError, DecompressError, DumpFormatError, TruncatedError, hex, isRamoopsError } from '../errors.js';
import { ByteReader } from '../bytes/reader.js';
import type { ByteSource, PhysicalMemory, PhysRange } from './memory.js';
import { parseNotes, type ElfNote } from './elf.js';
import { decodePage, pageCompression, PAGE_FLAG, type PageCompression } from './codecs/page.js';
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
  64: { size: 104, physBase: 0, dumpLevel: 8, split: 12, startPfn: 16, endPfn: 24, offVmcoreinfo: 32, sizeVmcoreinfo: 40, offNote: 48, sizeNote: 56, offErase: 64, sizeErase: 72, startPfn64: 80, endPfn64: 88, maxMapnr64: 96 },
  32: { size: 80, physBase: 0, dumpLevel: 4, split: 8, startPfn: 12, endPfn: 16, offVmcoreinfo: 20, sizeVmcoreinfo: 28, offNote: 32, sizeNote: 40, offErase: 44, sizeErase: 52, startPfn64: 56, endPfn64: 64, maxMapnr64: 72 },
} as const;

// typedef struct page_desc (makedumpfile diskdump_mod.h; QEMU PageDescriptor): off_t offset,
// u32 size, u32 flags, u64 page_flags: 24 bytes in both classes.
const DESC_SIZE = 24;

/** Pfns per rank-index entry: one 4 KiB block of the 2nd bitmap. */
const RANK_CHUNK_BYTES = 4096;
const RANK_CHUNK_PFNS = RANK_CHUNK_BYTES * 8;
const PAGE_CACHE = 64;
const DESC_BLOCK = 256;
const DESC_CACHE = 16;
const BITMAP_CACHE = 8;
/** Stored pages up to this size are also cached by content (see page()). */
const SMALL_PAGE_BYTES = 256;
const SMALL_CACHE = 64;
/** VMCOREINFO and note areas are read whole; real ones are a few KiB. */
const MAX_AREA = 64 << 20;

/** What the kdump headers say. */
export interface KdumpHeader {
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  readonly headerVersion: number;
  readonly utsname: { readonly sysname: string; readonly nodename: string; readonly release: string; readonly version: string; readonly machine: string; readonly domainname: string };
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

function readExact(source: ByteSource, pos: number, len: number, what: string): Uint8Array {
  const got = pos <= source.size ? source.read(pos, len) : new Uint8Array(0);
  if (got.length < len) throw new TruncatedError(what, pos, len, got.length);
  return got;
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

function u64n(r: ByteReader, at: number, base: number): number {
  const v = r.u64At(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DumpFormatError('kdump', base + at, `value ${hex(v)} is beyond 2^53`);
  return Number(v);
}

/** A tiny LRU map: the most recently used entries survive. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  return n;
});

/** One bitmap block with prefix counts, so a pfn's rank inside it is one lookup. */
interface BitmapChunk {
  readonly bits: Uint8Array;
  /** prefix[i] = set bits in bytes [0, i). */
  readonly prefix: Uint16Array;
}

interface PageDesc {
  readonly offset: number;
  readonly size: number;
  readonly flags: number;
}

/** Opens a kdump-compressed vmcore (not flattened: see unflatten / openDump for that). */
export function openKdump(source: ByteSource, description = 'kdump vmcore'): KdumpMemory {
  const h = parseKdumpHeader(source);
  const bs = h.blockSize;
  const bitmapAt = bs * (1 + h.subHdrSize);
  const bitmapHalf = (h.bitmapBlocks * bs) / 2;
  const bitmap2At = bitmapAt + bitmapHalf;
  const descAt = bs * (1 + h.subHdrSize + h.bitmapBlocks);
  // The bitmaps cannot describe more pfns than they have bits for, whatever max_mapnr says.
  const pfnLimit = Math.min(h.maxMapnr, bitmapHalf * 8, h.split ? h.endPfn : Infinity);

  // Rank index: rankBefore[c] = set bits of the 2nd bitmap before chunk c. One sequential pass.
  const chunks = Math.ceil(bitmapHalf / RANK_CHUNK_BYTES);
  const rankBefore = new Float64Array(chunks + 1);
  const READ = 1 << 20;
  for (let pos = 0, c = 0; pos < bitmapHalf; pos += READ) {
    const n = Math.min(READ, bitmapHalf - pos);
    const buf = readExact(source, bitmap2At + pos, n, 'kdump 2nd bitmap');
    for (let o = 0; o < n; o += RANK_CHUNK_BYTES, c++) {
      let count = 0;
      const end = Math.min(o + RANK_CHUNK_BYTES, n);
      for (let i = o; i < end; i++) count += POPCOUNT[buf[i] as number] as number;
      rankBefore[c + 1] = (rankBefore[c] as number) + count;
    }
  }

  const bitmapCache = new Lru<number, BitmapChunk>(BITMAP_CACHE);
  const chunk = (which: 1 | 2, c: number): BitmapChunk => {
    const key = which === 2 ? c : -1 - c;
    const hit = bitmapCache.get(key);
    if (hit) return hit;
    const at = (which === 2 ? bitmap2At : bitmapAt) + c * RANK_CHUNK_BYTES;
    const bits = readExact(source, at, Math.min(RANK_CHUNK_BYTES, bitmapHalf - c * RANK_CHUNK_BYTES), `kdump bitmap ${which}`);
    const prefix = new Uint16Array(bits.length + 1);
    for (let i = 0; i < bits.length; i++) prefix[i + 1] = (prefix[i] as number) + (POPCOUNT[bits[i] as number] as number);
    const v = { bits, prefix };
    bitmapCache.set(key, v);
    return v;
  };
  const bit = (which: 1 | 2, pfn: number): boolean => {
    if (pfn >= bitmapHalf * 8) return false;
    const ch = chunk(which, Math.floor(pfn / RANK_CHUNK_PFNS));
    const i = pfn % RANK_CHUNK_PFNS;
    return (((ch.bits[i >> 3] as number) >> (i & 7)) & 1) === 1;
  };
  /** Set bits of the 2nd bitmap before `pfn`. */
  const rank = (pfn: number): number => {
    const c = Math.floor(pfn / RANK_CHUNK_PFNS);
    if (c >= chunks) return rankBefore[chunks] as number;
    const ch = chunk(2, c);
    const i = pfn % RANK_CHUNK_PFNS;
    const byte = i >> 3;
    const partial = ((ch.bits[byte] ?? 0) & ((1 << (i & 7)) - 1)) >>> 0;
    return (rankBefore[c] as number) + (ch.prefix[byte] as number) + (POPCOUNT[partial] as number);
  };
  const firstIndex = h.split ? rank(h.startPfn) : 0;

  const descCache = new Lru<number, Uint8Array>(DESC_CACHE);
  /** The index-th page descriptor, or undefined when the file ends before it. */
  const desc = (index: number): PageDesc | undefined => {
    const block = Math.floor(index / DESC_BLOCK);
    let bytes = descCache.get(block);
    if (!bytes) {
      const at = descAt + block * DESC_BLOCK * DESC_SIZE;
      bytes = at < source.size ? source.read(at, DESC_BLOCK * DESC_SIZE) : new Uint8Array(0);
      descCache.set(block, bytes);
    }
    const o = (index % DESC_BLOCK) * DESC_SIZE;
    if (o + DESC_SIZE > bytes.length) return undefined;
    const r = new ByteReader(bytes, 'kdump page descriptor', h.littleEndian);
    return { offset: u64n(r, o, descAt + block * DESC_BLOCK * DESC_SIZE), size: r.u32At(o + 8), flags: r.u32At(o + 12) };
  };

  const pageCache = new Lru<number, Uint8Array>(PAGE_CACHE);
  const smallCache = new Lru<string, Uint8Array>(SMALL_CACHE);
  let pagesDecoded = 0;
  /** The page of `pfn`, or a reason it is absent. */
  const page = (pfn: number): Uint8Array | string => {
    if (pfn < 0) return 'negative address';
    if (pfn >= pfnLimit) {
      return h.split && pfn < Math.min(h.maxMapnr, bitmapHalf * 8)
        ? `pfn ${hex(pfn)} is outside this split file's pfns ${hex(h.startPfn)}..${hex(h.endPfn)}`
        : `pfn ${hex(pfn)} is beyond the dump's last pfn ${hex(pfnLimit - 1)}`;
    }
    if (h.split && pfn < h.startPfn) return `pfn ${hex(pfn)} is outside this split file's pfns ${hex(h.startPfn)}..${hex(h.endPfn)}`;
    if (!bit(2, pfn)) {
      return bit(1, pfn)
        ? `pfn ${hex(pfn)} was RAM but was excluded from the dump (dump level ${h.dumpLevel})`
        : `pfn ${hex(pfn)} was not RAM in the dumped machine (not in the 1st bitmap)`;
    }
    const index = rank(pfn) - firstIndex;
    const d = desc(index);
    if (d === undefined) return `pfn ${hex(pfn)}: its page descriptor at file offset ${hex(descAt + index * DESC_SIZE)} lies past the end of the file (${hex(source.size)} bytes): truncated dump`;
    // An incomplete dump (the writer ran out of space) leaves unwritten descriptors zero.
    if (d.offset === 0 || d.size === 0) return `pfn ${hex(pfn)}: the page was never written (incomplete dump${h.status & PAGE_FLAG.incomplete ? ', the header says so' : ''})`;
    const cached = pageCache.get(d.offset);
    if (cached) return cached;
    const compression: PageCompression | undefined = pageCompression(d.flags);
    const descFile = descAt + index * DESC_SIZE;
    if (compression === undefined) throw new DumpFormatError('kdump', descFile, `page descriptor of pfn ${hex(pfn)} has flags ${hex(d.flags)} naming several compressions`);
    if (d.size > bs && compression === 'none') throw new DumpFormatError('kdump', descFile, `uncompressed page of pfn ${hex(pfn)} has size ${d.size}, not the block size ${bs}`);
    if (d.size > 2 * bs + 1024) throw new DumpFormatError('kdump', descFile, `page of pfn ${hex(pfn)} stored in ${d.size} bytes, more than any compressor needs for ${bs}`);
    const data = d.offset < source.size ? source.read(d.offset, d.size) : new Uint8Array(0);
    if (data.length < d.size) {
      return `pfn ${hex(pfn)}: its data at file offset ${hex(d.offset)}+${hex(d.size)} lies past the end of the file (${hex(source.size)} bytes): truncated dump`;
    }
    // Identical stored bytes decode to identical pages. makedumpfile below dump level 1 stores
    // every zero page separately (a few dozen bytes each); remembering small inputs by content
    // saves inflating them again, which dominated reading such dumps.
    const small = data.length <= SMALL_PAGE_BYTES ? `${d.flags}:${latin1(data)}` : undefined;
    const same = small !== undefined ? smallCache.get(small) : undefined;
    if (same) {
      pageCache.set(d.offset, same);
      return same;
    }
    let p: Uint8Array;
    try {
      p = decodePage(compression, data, bs);
    } catch (e) {
      if (isRamoopsError(e)) {
        throw new DecompressError(compression, `pfn ${hex(pfn)} (physical ${hex(pfn * bs)}), page data at file offset ${hex(d.offset)}: ${e.message}`);
      }
      throw e;
    }
    pagesDecoded++;
    pageCache.set(d.offset, p);
    if (small !== undefined) smallCache.set(small, p);
    return p;
  };

  let ranges: readonly PhysRange[] | undefined;
  const computeRanges = (): readonly PhysRange[] => {
    const out: PhysRange[] = [];
    const from = h.split ? h.startPfn : 0;
    let runStart = -1;
    for (let c = 0; c < chunks && c * RANK_CHUNK_PFNS < pfnLimit; c++) {
      const bits = chunk(2, c).bits;
      for (let i = 0; i < bits.length; i++) {
        const b = bits[i] as number;
        // Whole bytes that continue the current state need no per-bit look.
        if ((b === 0 && runStart < 0) || (b === 0xff && runStart >= 0)) continue;
        const base = c * RANK_CHUNK_PFNS + i * 8;
        for (let k = 0; k < 8; k++) {
          const pfn = base + k;
          const set = ((b >> k) & 1) === 1 && pfn >= from && pfn < pfnLimit;
          if (set && runStart < 0) runStart = pfn;
          else if (!set && runStart >= 0) {
            out.push({ start: runStart * bs, end: Math.min(pfn, pfnLimit) * bs });
            runStart = -1;
          }
        }
      }
    }
    if (runStart >= 0) out.push({ start: runStart * bs, end: Math.min(pfnLimit, chunks * RANK_CHUNK_PFNS) * bs });
    return out;
  };

  return {
    description: `${description} (kdump v${h.headerVersion}, ${h.bits}-bit ${h.littleEndian ? 'LE' : 'BE'}, ${h.utsname.machine || '?'}, block ${bs})`,
    kdump: h,
    get pagesDecoded() {
      return pagesDecoded;
    },
    ranges() {
      ranges ??= computeRanges();
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
        const p = page(pfn);
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
