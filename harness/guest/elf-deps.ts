// What a dynamically linked ELF executable or library asks the loader for: its interpreter
// (PT_INTERP) and its DT_NEEDED sonames. This is `ldd` without running anything, which is the
// only way for a foreign architecture (the arm64 guest's dropbear on an x86 host). Pure: bytes
// in, names out; the caller resolves the names against unpacked packages.
import { HarnessError } from '../errors.js';

/** The loader-relevant facts of one ELF file. */
export interface ElfDynamicInfo {
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  /** e_machine (62 = x86-64, 183 = AArch64). */
  readonly machine: number;
  /** PT_INTERP's path, e.g. /lib/ld-linux-aarch64.so.1; undefined for static files and libraries. */
  readonly interpreter: string | undefined;
  /** DT_NEEDED entries in file order; empty for static executables. */
  readonly needed: readonly string[];
}

/** e_machine of AArch64. */
export const EM_AARCH64 = 183;
/** e_machine of 32-bit ARM (armhf). */
export const EM_ARM = 40;
/** e_machine of x86-64. */
export const EM_X86_64 = 62;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
/** A bound on the dynamic section we walk: real ones have a few dozen entries. */
const MAX_DYN_ENTRIES = 4096;

function fail(what: string, message: string): HarnessError {
  return new HarnessError('guest', `${what}: ${message}`);
}

/** Reads PT_INTERP and DT_NEEDED from an ELF file's bytes; `what` names it in errors. */
export function elfDynamicInfo(bytes: Uint8Array, what = 'ELF file'): ElfDynamicInfo {
  if (bytes.length < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw fail(what, 'not an ELF file');
  }
  const cls = bytes[4];
  const data = bytes[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) throw fail(what, `unknown ELF class ${cls} / data encoding ${data}`);
  const bits = cls === 2 ? 64 : 32;
  const le = data === 1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const inFile = (off: number, len: number, name: string): void => {
    if (!Number.isSafeInteger(off) || off < 0 || len < 0 || off + len > bytes.length)
      throw fail(what, `${name} (${len} bytes at ${off}) is outside the file's ${bytes.length} bytes`);
  };
  const u16 = (off: number): number => dv.getUint16(off, le);
  const u32 = (off: number): number => dv.getUint32(off, le);
  const word = (off: number): number => {
    if (bits === 32) return u32(off);
    const v = dv.getBigUint64(off, le);
    // Addresses past 2^53 do not occur in a loadable file; treat them as corrupt, not as numbers.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
  };
  if (bits === 64) inFile(0, 64, 'the ELF header');
  const machine = u16(18);
  const phoff = word(bits === 64 ? 32 : 28);
  const phentsize = u16(bits === 64 ? 54 : 42);
  const phnum = u16(bits === 64 ? 56 : 44);
  const minEnt = bits === 64 ? 56 : 32;
  if (phnum > 0 && phentsize < minEnt) throw fail(what, `e_phentsize ${phentsize} is smaller than a program header (${minEnt})`);
  inFile(phoff, phnum * phentsize, 'the program header table');

  interface Seg {
    readonly type: number;
    readonly offset: number;
    readonly vaddr: number;
    readonly filesz: number;
  }
  const segs: Seg[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    // Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz; Elf32_Phdr: type, offset, vaddr, paddr, filesz.
    segs.push(
      bits === 64
        ? { type: u32(at), offset: word(at + 8), vaddr: word(at + 16), filesz: word(at + 32) }
        : { type: u32(at), offset: u32(at + 4), vaddr: u32(at + 8), filesz: u32(at + 16) },
    );
  }
  const cString = (off: number, limit: number, name: string): string => {
    inFile(off, 0, name);
    const end = bytes.indexOf(0, off);
    if (end < 0 || end > limit) throw fail(what, `${name} at ${off} is not NUL-terminated`);
    return new TextDecoder('latin1').decode(bytes.subarray(off, end));
  };

  const interpSeg = segs.find((s) => s.type === PT_INTERP);
  let interpreter: string | undefined;
  if (interpSeg !== undefined) {
    inFile(interpSeg.offset, interpSeg.filesz, 'PT_INTERP');
    interpreter = cString(interpSeg.offset, interpSeg.offset + interpSeg.filesz, 'PT_INTERP');
  }

  const dyn = segs.find((s) => s.type === PT_DYNAMIC);
  if (dyn === undefined) return { bits, littleEndian: le, machine, interpreter, needed: [] };
  inFile(dyn.offset, dyn.filesz, 'PT_DYNAMIC');
  const entSize = bits === 64 ? 16 : 8;
  const neededOffsets: number[] = [];
  let strtab: number | undefined;
  let strsz: number | undefined;
  const count = Math.min(Math.floor(dyn.filesz / entSize), MAX_DYN_ENTRIES);
  for (let i = 0; i < count; i++) {
    const at = dyn.offset + i * entSize;
    const tag = word(at);
    const val = word(at + entSize / 2);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(val);
    else if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_STRSZ) strsz = val;
  }
  if (neededOffsets.length === 0) return { bits, littleEndian: le, machine, interpreter, needed: [] };
  if (strtab === undefined || strtab < 0) throw fail(what, 'DT_NEEDED entries but no DT_STRTAB');
  // DT_STRTAB is a virtual address: the PT_LOAD that maps it says where it is in the file.
  const load = segs.find((s) => s.type === PT_LOAD && strtab !== undefined && strtab >= s.vaddr && strtab < s.vaddr + s.filesz);
  if (load === undefined) throw fail(what, `DT_STRTAB 0x${strtab.toString(16)} is in no PT_LOAD segment`);
  const tabOff = load.offset + (strtab - load.vaddr);
  const tabEnd = Math.min(bytes.length, strsz === undefined || strsz < 0 ? bytes.length : tabOff + strsz);
  const needed = neededOffsets.map((o) => {
    if (o < 0 || tabOff + o >= tabEnd) throw fail(what, `DT_NEEDED name offset ${o} is outside the string table`);
    return cString(tabOff + o, tabEnd, 'a DT_NEEDED name');
  });
  return { bits, littleEndian: le, machine, interpreter, needed };
}
