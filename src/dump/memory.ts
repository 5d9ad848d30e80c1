// Physical memory as a dump presents it: read by physical address, list what is present.
// Readers for each dump format implement this; ramoops code knows nothing of formats.
import { AddressNotCapturedError } from '../errors.js';

export interface PhysRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export interface PhysicalMemory {
  /** What the memory came from, for messages ("raw file at 0x8000000"). */
  readonly description: string;
  ranges(): readonly PhysRange[];
  /** Bytes at [addr, addr+len); throws AddressNotCapturedError when any of it is absent. */
  read(addr: number, len: number): Uint8Array;
  /**
   * Optional fast path: physical addresses of every occurrence of `needle`, in order, at most
   * `max`. Sources that can search natively (a file read through one reused buffer) offer it.
   */
  findAll?(needle: Uint8Array, max: number, onProgress?: (done: number, total: number) => void): number[];
}

/** Random access to the bytes of a file or buffer; the harness supplies a file-backed one. */
export interface ByteSource {
  readonly size: number;
  read(pos: number, len: number): Uint8Array;
  /** Optional: offsets of every occurrence of `needle`, at most `max` (see PhysicalMemory.findAll). */
  findAll?(needle: Uint8Array, max: number, onProgress?: (done: number, total: number) => void): number[];
}

/** A byte source whose first byte is physical address `base` (a raw dump or a cut-out region). */
export function rawMemory(source: ByteSource | Uint8Array, base: number, description = 'raw dump'): PhysicalMemory {
  const src: ByteSource = source instanceof Uint8Array ? { size: source.length, read: (pos, len) => source.subarray(pos, pos + len) } : source;
  const find = src.findAll?.bind(src);
  return {
    description: `${description} at ${'0x' + base.toString(16)}`,
    ranges: () => [{ start: base, end: base + src.size }],
    ...(find
      ? { findAll: (needle: Uint8Array, max: number, onProgress?: (d: number, t: number) => void) => find(needle, max, onProgress).map((o) => o + base) }
      : {}),
    read(addr, len) {
      const off = addr - base;
      if (off < 0 || off + len > src.size) {
        const have = off < 0 ? 'starts before the dump' : off >= src.size ? 'lies past its end' : `only ${src.size - off} of ${len} bytes present`;
        throw new AddressNotCapturedError(addr, len, `the dump covers 0x${base.toString(16)}..0x${(base + src.size).toString(16)}; the range ${have}`);
      }
      return src.read(off, len);
    },
  };
}
