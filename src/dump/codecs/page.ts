// One kdump page's stored bytes -> the page, by the page descriptor's compression flag.
// makedumpfile (makedumpfile.c write_kdump_pages*) and QEMU (dump/dump.c write_dump_pages) store
// a page compressed only when that makes it smaller, each page an independent stream:
// zlib compress2() output, lzo1x_1_compress output, raw snappy, or one zstd frame.
import { inflateSync } from 'fflate';
import { Decompress as ZstdStream } from 'fzstd';
import { DecompressError, OutputLimitError, RamoopsError } from '../../errors.js';
// The one LZO1X decoder, the kernel's lzo1x_decompress_safe rules (a leaf: errors and its
// output window only, no ramoops knowledge); liblzo2's lzo1x_1 pages are the same format.
import { lzoDecompressBlock } from '../../records/decompress/lzo.js';
import { snappyDecompress } from './snappy.js';

/** page_desc.flags values (makedumpfile diskdump_mod.h DUMP_DH_COMPRESSED_*). */
export const PAGE_FLAG = { zlib: 0x1, lzo: 0x2, snappy: 0x4, incomplete: 0x8, zstd: 0x20 } as const;

/** The compression a page descriptor's flags name, or 'none'. */
export type PageCompression = 'none' | 'zlib' | 'lzo' | 'snappy' | 'zstd';

/** Which compression `flags` names; several at once is a format error the caller reports. */
export function pageCompression(flags: number): PageCompression | undefined {
  const c = flags & (PAGE_FLAG.zlib | PAGE_FLAG.lzo | PAGE_FLAG.snappy | PAGE_FLAG.zstd);
  switch (c) {
    case 0:
      return 'none';
    case PAGE_FLAG.zlib:
      return 'zlib';
    case PAGE_FLAG.lzo:
      return 'lzo';
    case PAGE_FLAG.snappy:
      return 'snappy';
    case PAGE_FLAG.zstd:
      return 'zstd';
    default:
      return undefined;
  }
}

/** Adler-32 (RFC 1950 §8.2); fflate does not check it, so we do. */
export function adler32(b: Uint8Array): number {
  let a = 1;
  let s = 0;
  let i = 0;
  const n = b.length;
  while (i < n) {
    // 5552 bytes (zlib's NMAX) between reductions; JS numbers hold the sums exactly far beyond.
    const end = Math.min(i + 5552, n);
    // Four bytes per step: s gains 4a + 4b0 + 3b1 + 2b2 + b3, which shortens the dependency
    // chain of the one-byte recurrence (about 3x faster here, and this runs once per page).
    for (; i + 4 <= end; i += 4) {
      const b0 = b[i] as number;
      const b1 = b[i + 1] as number;
      const b2 = b[i + 2] as number;
      const b3 = b[i + 3] as number;
      s += 4 * a + 4 * b0 + 3 * b1 + 2 * b2 + b3;
      a += b0 + b1 + b2 + b3;
    }
    for (; i < end; i++) {
      a += b[i] as number;
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/** A zlib stream (RFC 1950) whose last four bytes are its Adler-32, as compress2() writes it. */
export function unzlibPage(input: Uint8Array, limit: number): Uint8Array {
  if (input.length < 6) throw new DecompressError('zlib', `only ${input.length} bytes, too short for a zlib stream`);
  const cmf = input[0] as number;
  const flg = input[1] as number;
  if ((cmf & 0x0f) !== 8 || ((cmf << 8) | flg) % 31 !== 0) {
    throw new DecompressError('zlib', `bad zlib header ${cmf.toString(16)} ${flg.toString(16)}`);
  }
  if (flg & 0x20) throw new DecompressError('zlib', 'preset dictionary not supported');
  let out: Uint8Array;
  try {
    // fflate truncates silently at the end of an `out` buffer, so give it one byte more than
    // allowed: a result that fills it was too long. (Without one it grows its buffer by
    // doubling from 3x the input, which costs more than the inflation for 4 KiB pages.)
    out = inflateSync(input.subarray(2, input.length - 4), { out: new Uint8Array(limit + 1) });
  } catch (e) {
    throw new DecompressError('zlib', e instanceof Error ? e.message : String(e));
  }
  if (out.length > limit) throw new OutputLimitError('zlib', limit);
  const n = input.length;
  const stored = ((input[n - 4] as number) * 2 ** 24 + ((input[n - 3] as number) << 16) + ((input[n - 2] as number) << 8) + (input[n - 1] as number)) >>> 0;
  const computed = adler32(out);
  if (stored !== computed) throw new DecompressError('zlib', `Adler-32 mismatch: stored ${stored.toString(16)}, computed ${computed.toString(16)}`);
  return out;
}

/** One zstd frame, streamed so a lying frame header cannot make us allocate past `limit`. */
export function unzstdPage(input: Uint8Array, limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  let n = 0;
  try {
    const s = new ZstdStream((c: Uint8Array) => {
      if (n + c.length > limit) throw new OutputLimitError('zstd', limit);
      out.set(c, n);
      n += c.length;
    });
    s.push(input, true);
  } catch (e) {
    if (e instanceof RamoopsError) throw e;
    throw new DecompressError('zstd', e instanceof Error ? e.message : String(e));
  }
  return n === limit ? out : out.slice(0, n);
}

/** Decodes a stored page; the result must be exactly `pageSize` bytes. */
export function decodePage(compression: PageCompression, data: Uint8Array, pageSize: number): Uint8Array {
  let page: Uint8Array;
  switch (compression) {
    case 'none':
      page = data;
      break;
    case 'zlib':
      page = unzlibPage(data, pageSize);
      break;
    case 'lzo':
      page = lzoDecompressBlock(data, pageSize);
      break;
    case 'snappy':
      page = snappyDecompress(data, pageSize);
      break;
    case 'zstd':
      page = unzstdPage(data, pageSize);
      break;
  }
  if (page.length !== pageSize) throw new DecompressError(compression, `page decodes to ${page.length} bytes, expected ${pageSize}`);
  return page;
}
