// A tiny ELF core writer for tests: ELF32/ELF64, either byte order, PT_NOTE + PT_LOADs, optional
// PN_XNUM. Its output is checked against binutils' readelf (elf.test.ts), so tests of our reader
// on these files do not rest on our own understanding of the format alone.

/** A PT_LOAD to write: `data` goes in the file; memsz beyond data.length is zero by ELF rules. */
export interface TestLoad {
  readonly paddr: number;
  readonly data: Uint8Array;
  readonly memsz?: number;
  readonly vaddr?: number;
  /** Write the segment's bytes at this file offset instead of after the previous one. */
  readonly offset?: number;
}

/** A note to write into the PT_NOTE segment. */
export interface TestNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
}

/** What to write. */
export interface TestElf {
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  readonly loads: readonly TestLoad[];
  readonly notes?: readonly TestNote[];
  /** Use e_phnum = PN_XNUM with the real count in section header 0 (as QEMU does past 65534). */
  readonly xnum?: boolean;
  readonly type?: number;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** Serialises the notes (4-byte aligned Nhdr, name, desc). */
export function noteBytes(notes: readonly TestNote[], le: boolean): Uint8Array {
  const size = notes.reduce((s, n) => s + 12 + pad4(n.name.length + 1) + pad4(n.desc.length), 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const n of notes) {
    v.setUint32(at, n.name.length + 1, le);
    v.setUint32(at + 4, n.desc.length, le);
    v.setUint32(at + 8, n.type, le);
    for (let i = 0; i < n.name.length; i++) out[at + 12 + i] = n.name.charCodeAt(i);
    at += 12 + pad4(n.name.length + 1);
    out.set(n.desc, at);
    at += pad4(n.desc.length);
  }
  return out;
}

/** Builds the file. */
export function writeElf(spec: TestElf): Uint8Array {
  const le = spec.littleEndian;
  const is64 = spec.bits === 64;
  const ehsize = is64 ? 64 : 52;
  const phent = is64 ? 56 : 32;
  const shent = is64 ? 64 : 40;
  const notes = noteBytes(spec.notes ?? [], le);
  const phnum = spec.loads.length + (notes.length > 0 ? 1 : 0);
  const phoff = ehsize;
  const shoff = spec.xnum ? phoff + phnum * phent : 0;
  let data = (spec.xnum ? shoff + shent : phoff + phnum * phent) + 0;
  const noteOff = data;
  data += notes.length;
  const offsets: number[] = [];
  let end = data;
  for (const l of spec.loads) {
    const off = l.offset ?? end;
    offsets.push(off);
    end = Math.max(end, off + l.data.length);
  }
  const out = new Uint8Array(end);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  v.setUint16(16, spec.type ?? 4, le);
  v.setUint16(18, is64 ? 62 : 3, le);
  v.setUint32(20, 1, le);
  const word = (at: number, x: number): void => {
    if (is64) v.setBigUint64(at, BigInt(x), le);
    else v.setUint32(at, x, le);
  };
  if (is64) {
    word(32, phoff);
    word(40, shoff);
    v.setUint16(52, ehsize, le);
    v.setUint16(54, phent, le);
    v.setUint16(56, spec.xnum ? 0xffff : phnum, le);
    v.setUint16(58, spec.xnum ? shent : 0, le);
    v.setUint16(60, spec.xnum ? 1 : 0, le);
  } else {
    word(28, phoff);
    word(32, shoff);
    v.setUint16(40, ehsize, le);
    v.setUint16(42, phent, le);
    v.setUint16(44, spec.xnum ? 0xffff : phnum, le);
    v.setUint16(46, spec.xnum ? shent : 0, le);
    v.setUint16(48, spec.xnum ? 1 : 0, le);
  }
  if (spec.xnum) v.setUint32(shoff + (is64 ? 44 : 28), phnum, le);
  const phdr = (i: number, type: number, offset: number, vaddr: number, paddr: number, filesz: number, memsz: number): void => {
    const at = phoff + i * phent;
    v.setUint32(at, type, le);
    if (is64) {
      v.setUint32(at + 4, 7, le);
      word(at + 8, offset);
      word(at + 16, vaddr);
      word(at + 24, paddr);
      word(at + 32, filesz);
      word(at + 40, memsz);
      word(at + 48, type === 4 ? 4 : 0x1000);
    } else {
      word(at + 4, offset);
      word(at + 8, vaddr);
      word(at + 12, paddr);
      word(at + 16, filesz);
      word(at + 20, memsz);
      v.setUint32(at + 24, 7, le);
      word(at + 28, type === 4 ? 4 : 0x1000);
    }
  };
  let i = 0;
  if (notes.length > 0) {
    phdr(i++, 4, noteOff, 0, 0, notes.length, notes.length);
    out.set(notes, noteOff);
  }
  spec.loads.forEach((l, k) => {
    const off = offsets[k] ?? 0;
    phdr(i++, 1, off, l.vaddr ?? l.paddr, l.paddr, l.data.length, l.memsz ?? l.data.length);
    out.set(l.data, off);
  });
  return out;
}
