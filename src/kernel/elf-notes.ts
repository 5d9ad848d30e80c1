// ELF64 notes of an uncompressed vmlinux: the Xen PHYS32_ENTRY note is the PVH entry point
// that lets QEMU (with qboot) start the kernel without real-mode setup or decompression.
import { ByteReader } from '../bytes/reader.js';
import { KernelImageError } from '../errors.js';

export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
}

const PT_NOTE = 4;
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

const align4 = (n: number): number => (n + 3) & ~3;

/** Every note in every PT_NOTE segment of a little-endian ELF64 file. */
export function elfNotes(bytes: Uint8Array, what = 'vmlinux'): readonly ElfNote[] {
  const r = new ByteReader(bytes, what);
  if (bytes.length < 64 || r.u32At(0) !== 0x464c457f) throw new KernelImageError(what, 'no ELF magic: not an uncompressed vmlinux');
  if (r.u8At(4) !== 2 || r.u8At(5) !== 1) throw new KernelImageError(what, 'not a little-endian ELF64 file');
  const phoff = r.u64NumAt(0x20);
  const phentsize = r.u16At(0x36);
  const phnum = r.u16At(0x38);
  const notes: ElfNote[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (r.u32At(ph) !== PT_NOTE) continue;
    const off = r.u64NumAt(ph + 8);
    const end = off + r.u64NumAt(ph + 32);
    for (let at = off; at + 12 <= end;) {
      const namesz = r.u32At(at);
      const descsz = r.u32At(at + 4);
      const type = r.u32At(at + 8);
      const name = new TextDecoder().decode(r.bytesAt(at + 12, namesz)).replace(/\0+$/, '');
      const descAt = at + 12 + align4(namesz);
      notes.push({ name, type, desc: r.bytesAt(descAt, descsz) });
      at = descAt + align4(descsz);
    }
  }
  return notes;
}

/** The 32-bit PVH entry address, or undefined when the kernel was built without CONFIG_PVH. */
export function pvhEntry(bytes: Uint8Array, what = 'vmlinux'): number | undefined {
  const note = elfNotes(bytes, what).find((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
  if (note === undefined) return undefined;
  return new ByteReader(note.desc, `${what} PVH note`).u32At(0);
}
