// ELF vmcores (ET_CORE) read by physical address: what the kernel's /proc/vmcore, QEMU's
// dump-guest-memory (format elf) and makedumpfile -E write. 32 and 64 bit, both byte orders.
// Only the ELF header, the program header table and (on request) the PT_NOTE segments are read
// up front; page bytes are read when asked for, so memory does not grow with the dump.
import { AddressNotCapturedError, DumpFormatError, TruncatedError, hex } from '../errors.js';
import { ByteReader } from '../bytes/reader.js';
import type { ByteSource, PhysicalMemory, PhysRange } from './memory.js';
import { storedSearch } from './search.js';
import { isElf } from './magic.js';

export { isElf };

const ET_CORE = 4;
const PT_LOAD = 1;
const PT_NOTE = 4;
/** e_phnum's escape: the real count is in section header 0's sh_info (QEMU dump/dump.c uses it past 65534 segments). */
const PN_XNUM = 0xffff;
/** Refuse tables larger than this: no real vmcore has millions of segments, and we read the table whole. */
const MAX_PHDRS = 1 << 22;
/** PT_NOTE segments are read whole; real ones are a few KiB per CPU. */
const MAX_NOTE_BYTES = 64 << 20;

/** One PT_LOAD segment: physical [paddr, paddr + memsz), file bytes for the first filesz of it. */
export interface ElfLoad {
  readonly index: number;
  readonly paddr: number;
  readonly vaddr: bigint;
  readonly offset: number;
  readonly filesz: number;
  readonly memsz: number;
}

/** One ELF note (Elf32_Nhdr/Elf64_Nhdr + name + desc), e.g. CORE/NT_PRSTATUS, VMCOREINFO. */
export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
  /** File offset of the note header. */
  readonly offset: number;
}

/** What the ELF header and program headers say. */
export interface ElfInfo {
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  readonly machine: number;
  readonly loads: readonly ElfLoad[];
  readonly notes: readonly { readonly offset: number; readonly size: number; readonly align: number }[];
}

/** Physical memory of an ELF vmcore, with what its headers said. */
export interface ElfMemory extends PhysicalMemory {
  readonly elf: ElfInfo;
}

// Elf32_Ehdr / Elf64_Ehdr, Elf32_Phdr / Elf64_Phdr, Elf32_Shdr / Elf64_Shdr: field offsets from
// the System V gABI (and glibc's <elf.h>), per class.
const LAYOUT = {
  32: { ehsize: 52, phoff: 28, shoff: 32, phentsize: 42, phnum: 44, shentsize: 46, phent: 32, shInfo: 28 },
  64: { ehsize: 64, phoff: 32, shoff: 40, phentsize: 54, phnum: 56, shentsize: 58, phent: 56, shInfo: 44 },
} as const;

function toNumber(v: bigint, what: string, at: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DumpFormatError('ELF', at, `${what} ${hex(v)} is beyond 2^53`);
  return Number(v);
}

function readExact(source: ByteSource, pos: number, len: number, what: string): Uint8Array {
  const got = pos <= source.size ? source.read(pos, len) : new Uint8Array(0);
  if (got.length < len) throw new TruncatedError(what, pos, len, got.length);
  return got;
}

/** Parses the ELF header and program headers (nothing else is read). */
export function parseElfHeaders(source: ByteSource): ElfInfo {
  const ident = readExact(source, 0, 16, 'ELF identification');
  if (!isElf(ident)) throw new DumpFormatError('ELF', 0, 'no ELF magic (\\x7fELF)');
  const cls = ident[4];
  const data = ident[5];
  if (cls !== 1 && cls !== 2) throw new DumpFormatError('ELF', 4, `EI_CLASS ${cls} is neither ELFCLASS32 (1) nor ELFCLASS64 (2)`);
  if (data !== 1 && data !== 2) throw new DumpFormatError('ELF', 5, `EI_DATA ${data} is neither little (1) nor big endian (2)`);
  const bits = cls === 1 ? 32 : 64;
  const le = data === 1;
  const L = LAYOUT[bits];
  const eh = new ByteReader(readExact(source, 0, L.ehsize, `ELF${bits} header`), `ELF${bits} header`, le);
  const type = eh.u16At(16);
  if (type !== ET_CORE) throw new DumpFormatError('ELF', 16, `e_type ${type} is not ET_CORE (4): not a memory dump`);
  const machine = eh.u16At(18);
  const word = (r: ByteReader, at: number, what: string, base: number): number => (bits === 64 ? toNumber(r.u64At(at), what, base + at) : r.u32At(at));
  const phoff = word(eh, L.phoff, 'e_phoff', 0);
  const phentsize = eh.u16At(L.phentsize);
  let phnum = eh.u16At(L.phnum);
  if (phentsize !== L.phent && phnum !== 0) {
    throw new DumpFormatError('ELF', L.phentsize, `e_phentsize ${phentsize}, expected ${L.phent} for ELF${bits}`);
  }
  if (phnum === PN_XNUM) {
    const shoff = word(eh, L.shoff, 'e_shoff', 0);
    const shentsize = eh.u16At(L.shentsize);
    const sh = new ByteReader(readExact(source, shoff, shentsize, 'ELF section header 0 (PN_XNUM)'), 'ELF section header 0', le);
    phnum = sh.u32At(L.shInfo);
  }
  if (phnum > MAX_PHDRS) throw new DumpFormatError('ELF', L.phnum, `${phnum} program headers is more than the ${MAX_PHDRS} we accept`);
  const table = new ByteReader(readExact(source, phoff, phnum * L.phent, `ELF program header table (${phnum} entries)`), 'ELF program headers', le);
  const loads: ElfLoad[] = [];
  const notes: { offset: number; size: number; align: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * L.phent;
    const base = phoff + at;
    const pType = table.u32At(at);
    if (pType !== PT_LOAD && pType !== PT_NOTE) continue;
    // Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz, memsz, align (8-byte fields after
    // the first two); Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align.
    const f =
      bits === 64
        ? { offset: 8, vaddr: 16, paddr: 24, filesz: 32, memsz: 40, align: 48 }
        : { offset: 4, vaddr: 8, paddr: 12, filesz: 16, memsz: 20, align: 28 };
    const offset = word(table, at + f.offset, `PT #${i} p_offset`, phoff);
    const filesz = word(table, at + f.filesz, `PT #${i} p_filesz`, phoff);
    if (pType === PT_NOTE) {
      notes.push({ offset, size: filesz, align: word(table, at + f.align, `PT #${i} p_align`, phoff) });
      continue;
    }
    const memsz = word(table, at + f.memsz, `PT #${i} p_memsz`, phoff);
    const paddr = word(table, at + f.paddr, `PT #${i} p_paddr`, phoff);
    const vaddr = bits === 64 ? table.u64At(at + f.vaddr) : BigInt(table.u32At(at + f.vaddr));
    if (filesz > memsz) throw new DumpFormatError('ELF', base, `PT_LOAD #${i}: p_filesz ${hex(filesz)} > p_memsz ${hex(memsz)}`);
    loads.push({ index: i, paddr, vaddr, offset, filesz, memsz });
  }
  return { bits, littleEndian: le, machine, loads, notes };
}

/** The notes of every PT_NOTE segment, in file order (VMCOREINFO, NT_PRSTATUS, QEMU's CPU state...). */
export function elfNotes(source: ByteSource, info: ElfInfo = parseElfHeaders(source)): readonly ElfNote[] {
  const out: ElfNote[] = [];
  for (const seg of info.notes) {
    if (seg.size > MAX_NOTE_BYTES) throw new DumpFormatError('ELF', seg.offset, `PT_NOTE of ${seg.size} bytes is more than the ${MAX_NOTE_BYTES} we accept`);
    const bytes = readExact(source, seg.offset, seg.size, 'ELF PT_NOTE segment');
    out.push(...parseNotes(bytes, info.littleEndian, seg.align === 8 ? 8 : 4, seg.offset));
  }
  return out;
}

/**
 * Notes packed one after another (Elf32_Nhdr/Elf64_Nhdr: namesz, descsz, type as 4-byte words
 * in both classes; name and desc padded to `align`, 4 except for segments that declare p_align
 * 8). Also the layout of a kdump file's note area. `at` is the file offset of `bytes`.
 */
export function parseNotes(bytes: Uint8Array, littleEndian: boolean, align: 4 | 8, at: number): ElfNote[] {
  const out: ElfNote[] = [];
  const r = new ByteReader(bytes, 'ELF note', littleEndian);
  let pos = 0;
  while (pos + 12 <= bytes.length) {
    const namesz = r.u32At(pos);
    const descsz = r.u32At(pos + 4);
    const type = r.u32At(pos + 8);
    // An all-zero header is padding at the end of the area (the kernel's per-CPU note buffers).
    if (namesz === 0 && descsz === 0 && type === 0) break;
    const nameAt = pos + 12;
    const descAt = nameAt + pad(namesz, align);
    if (descAt + descsz > bytes.length) {
      throw new TruncatedError(`ELF note at file offset ${hex(at + pos)}`, at + nameAt, namesz + descsz, Math.max(0, bytes.length - nameAt));
    }
    let name = '';
    for (let i = 0; i < namesz; i++) {
      const c = bytes[nameAt + i] ?? 0;
      if (c === 0) break;
      name += String.fromCharCode(c);
    }
    out.push({ name, type, desc: bytes.subarray(descAt, descAt + descsz), offset: at + pos });
    pos = descAt + pad(descsz, align);
  }
  return out;
}

function pad(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The VMCOREINFO text of an ELF vmcore (the kernel's or QEMU's -device vmcoreinfo note), if any. */
export function elfVmcoreinfo(source: ByteSource, info?: ElfInfo): string | undefined {
  const note = elfNotes(source, info).find((n) => n.name === 'VMCOREINFO');
  return note === undefined ? undefined : new TextDecoder().decode(note.desc).replace(/\0+$/, '');
}

/** A physical range served by one segment; pieces are disjoint and sorted. */
interface Piece {
  readonly start: number;
  readonly end: number;
  readonly load: ElfLoad;
}

/** Physical memory of an ELF vmcore: PT_LOADs by p_paddr, bytes past p_filesz read as zero. */
export function openElf(source: ByteSource, description = 'ELF vmcore'): ElfMemory {
  const info = parseElfHeaders(source);
  const sorted = info.loads.filter((l) => l.memsz > 0).sort((a, b) => a.paddr - b.paddr || a.index - b.index);
  // Segments may overlap (QEMU with paging=true maps one physical page from several virtual
  // ones); the bytes are the same, so the first segment to cover an address serves it.
  const pieces: Piece[] = [];
  let covered = -1;
  for (const load of sorted) {
    const start = Math.max(load.paddr, covered);
    const end = load.paddr + load.memsz;
    if (start < end) pieces.push({ start, end, load });
    covered = Math.max(covered, end);
  }
  // What ranges() reports: the pieces, merged, without bytes a truncated file cannot give.
  const ranges: PhysRange[] = [];
  for (const p of pieces) {
    const end = Math.min(p.end, presentEnd(p, source.size));
    if (end <= p.start) continue;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.end === p.start) ranges[ranges.length - 1] = { start: last.start, end };
    else ranges.push({ start: p.start, end });
  }
  const frozen: readonly PhysRange[] = ranges;
  const span = ranges.length > 0 ? `${hex(ranges[0]?.start ?? 0)}..${hex(ranges[ranges.length - 1]?.end ?? 0)}` : 'nothing';

  const find = (addr: number): number => {
    // The last piece starting at or before addr.
    let lo = 0;
    let hi = pieces.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((pieces[mid]?.start ?? Infinity) <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  };

  const mem: ElfMemory = {
    description: `${description} (ELF${info.bits} ${info.littleEndian ? 'LE' : 'BE'}, ${info.loads.length} PT_LOAD)`,
    elf: info,
    ranges: () => frozen,
    read(addr, len) {
      if (len === 0) return new Uint8Array(0);
      let out: Uint8Array | undefined;
      let done = 0;
      let i = find(addr);
      while (done < len) {
        const a = addr + done;
        const p = i >= 0 ? pieces[i] : undefined;
        if (p === undefined || a < p.start || a >= p.end) {
          throw new AddressNotCapturedError(addr, len, `no PT_LOAD segment holds ${hex(a)} (segments cover ${span}, ${frozen.length} range(s))`);
        }
        const n = Math.min(len - done, p.end - a);
        const rel = a - p.load.paddr;
        // Bytes [0, filesz) of the segment are in the file, [filesz, memsz) are zero (gABI).
        const fileN = Math.max(0, Math.min(n, p.load.filesz - rel));
        let chunk: Uint8Array | undefined;
        if (fileN > 0) {
          const pos = p.load.offset + rel;
          chunk = pos < source.size ? source.read(pos, fileN) : new Uint8Array(0);
          if (chunk.length < fileN) {
            throw new AddressNotCapturedError(
              addr,
              len,
              `PT_LOAD #${p.load.index} puts ${hex(a + chunk.length)} at file offset ${hex(pos + chunk.length)}, but the file ends at ${hex(source.size)} (truncated vmcore)`,
            );
          }
        }
        if (done === 0 && n === len && fileN === n && chunk !== undefined) return chunk;
        out ??= new Uint8Array(len);
        if (chunk !== undefined) out.set(chunk, done);
        done += n;
        i++;
      }
      return out ?? new Uint8Array(len);
    },
  };
  // Segment bytes are plain file bytes: a source that can search natively searches them.
  const runs = pieces.map((p) => ({
    phys: p.start,
    fileOffset: p.load.offset + (p.start - p.load.paddr),
    size: Math.max(0, Math.min(p.end, p.load.paddr + p.load.filesz, presentEnd(p, source.size)) - p.start),
  }));
  const findAll = storedSearch(source, runs, mem);
  return findAll === undefined ? mem : { ...mem, findAll };
}

/** The physical end of what a piece can really serve given the file's size. */
function presentEnd(p: Piece, fileSize: number): number {
  const fileEnd = p.load.paddr + Math.max(0, Math.min(p.load.filesz, fileSize - p.load.offset));
  // Past filesz the bytes are zero by definition, so only a file cut inside [0, filesz) shortens it.
  return fileEnd < p.load.paddr + p.load.filesz ? Math.max(p.start, fileEnd) : p.end;
}
