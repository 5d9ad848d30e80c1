// The x86 boot header of a bzImage (Documentation/arch/x86/boot.rst): where the compressed
// vmlinux sits and which compressor made it, so the harness can boot the uncompressed ELF
// directly (PVH) instead of paying firmware + decompression on every TCG boot.
import { ByteReader } from '../bytes/reader.js';
import { KernelImageError } from '../errors.js';

export type KernelCompressor = 'gzip' | 'xz' | 'zstd' | 'lz4' | 'lzo' | 'bzip2' | 'lzma';

export interface BzImageHeader {
  readonly setupSects: number;
  /** Boot protocol version, e.g. 0x020f. */
  readonly version: number;
  /** Offset of the compressed payload in the file (setup + payload_offset). */
  readonly payloadStart: number;
  readonly payloadLength: number;
  readonly compressor: KernelCompressor;
}

const MAGICS: readonly (readonly [KernelCompressor, readonly number[]])[] = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lzma', [0x5d, 0x00, 0x00]],
];

/** The compressor whose magic starts `bytes`, or undefined. */
export function compressorOf(bytes: Uint8Array): KernelCompressor | undefined {
  for (const [name, magic] of MAGICS) {
    if (bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b)) return name;
  }
  return undefined;
}

/** Parse the boot header; needs the file at least up to the payload's first bytes. */
export function parseBzImage(bytes: Uint8Array, what = 'bzImage'): BzImageHeader {
  const r = new ByteReader(bytes, what);
  if (bytes.length < 0x250) throw new KernelImageError(what, `${bytes.length} bytes is too short for an x86 boot header (need 0x250)`);
  if (r.u32At(0x202) !== 0x53726448) throw new KernelImageError(what, "no 'HdrS' magic at 0x202: not an x86 bzImage");
  const version = r.u16At(0x206);
  if (version < 0x0208) throw new KernelImageError(what, `boot protocol ${version.toString(16)} predates payload_offset (need >= 2.08)`);
  const sects = r.u8At(0x1f1);
  const setupSects = sects === 0 ? 4 : sects;
  const payloadStart = (setupSects + 1) * 512 + r.u32At(0x248);
  const payloadLength = r.u32At(0x24c);
  const compressor = compressorOf(r.bytesAt(payloadStart, Math.min(6, Math.max(0, bytes.length - payloadStart))));
  if (compressor === undefined) throw new KernelImageError(what, `payload at ${payloadStart} starts with no known compressor magic`);
  return { setupSects, version, payloadStart, payloadLength, compressor };
}
