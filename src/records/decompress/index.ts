// Decompressors for dmesg records, each bounded by an output limit like the kernel's work
// buffer: (input, limit) -> bytes, or a DecompressError/OutputLimitError. Nothing else escapes.
import { Inflate, Unzlib } from 'fflate';
import { Decompress as ZstdStream } from 'fzstd';
import { concatBytes } from '../../bytes/concat.js';
import { DecompressError, OutputLimitError, RamoopsError } from '../../errors.js';
import { sw842Decompress } from './842.js';
import { lz4DecompressBlock } from './lz4.js';
import { lzoDecompressBlock } from './lzo.js';

export type Algorithm = 'deflate' | 'zlib' | 'zstd' | 'lzo' | 'lz4' | 'lz4hc' | '842';

/** Feed `input` in small pieces so one push can never produce more than ~1 MB past the limit. */
const CHUNK = 1024;

function collect(
  algorithm: string,
  limit: number,
  make: (ondata: (c: Uint8Array) => void) => { push(c: Uint8Array, final: boolean): void },
  input: Uint8Array,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let done = false;
  const stream = make((c) => {
    total += c.length;
    if (total > limit) throw new OutputLimitError(algorithm, limit);
    parts.push(c.slice());
  });
  try {
    if (input.length === 0) stream.push(input, true);
    for (let i = 0; i < input.length; i += CHUNK) {
      stream.push(input.subarray(i, i + CHUNK), i + CHUNK >= input.length);
    }
    done = true;
  } catch (e) {
    if (e instanceof RamoopsError) throw e;
    throw new DecompressError(algorithm, `${e instanceof Error ? e.message : String(e)} (stream broken or cut)`);
  }
  if (!done) throw new DecompressError(algorithm, 'stream incomplete');
  return concatBytes(parts);
}

function adler32(b: Uint8Array): number {
  let a = 1;
  let s = 0;
  for (let i = 0; i < b.length;) {
    const end = Math.min(i + 3800, b.length);
    for (; i < end; i++) {
      a += b[i] ?? 0;
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}

function completes(raw: Uint8Array): boolean {
  try {
    new Inflate(() => undefined).push(raw, true);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first `want` bytes a raw deflate stream decodes to, reading only as much input as that
 * takes; undefined when it breaks first. For guessing a record's compressor from its opening
 * text (scan), never for extraction: the end of the stream is not checked.
 */
export function inflatePrefix(input: Uint8Array, want: number): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let total = 0;
  const stream = new Inflate((c) => {
    parts.push(c.slice(0, Math.max(0, want - total)));
    total += c.length;
  });
  try {
    for (let i = 0; i < input.length && total < want; i += 256) stream.push(input.subarray(i, i + 256), i + 256 >= input.length);
  } catch {
    return undefined;
  }
  // Each piece was cut where `want` was reached: together they are at most `want` bytes.
  return concatBytes(parts);
}

/** Raw deflate (RFC 1951): what the crypto API's "deflate" and 6.6+'s zlib library write. */
export function inflateRaw(input: Uint8Array, limit: number): Uint8Array {
  return collect('deflate', limit, (ondata) => new Inflate((c) => ondata(c)), input);
}

/** zlib-wrapped deflate (RFC 1950) as ≤4.16 kernels write it; fflate skips the Adler-32 check, so we do it. */
export function inflateZlib(input: Uint8Array, limit: number): Uint8Array {
  if (input.length < 6) throw new DecompressError('zlib', `only ${input.length} bytes, too short for a zlib stream`);
  const cmf = input[0] ?? 0;
  const flg = input[1] ?? 0;
  if ((cmf & 0x0f) !== 8 || ((cmf << 8) | flg) % 31 !== 0) throw new DecompressError('zlib', `bad zlib header ${cmf.toString(16)} ${flg.toString(16)}`);
  if (flg & 0x20) throw new DecompressError('zlib', 'preset dictionary not supported');
  const out = collect('zlib', limit, (ondata) => new Unzlib((c) => ondata(c)), input);
  // The Adler-32 trailer follows the deflate data directly; find where that data ends as the
  // shortest prefix that inflates completely (monotonic, so a binary search), then compare.
  let lo = 3;
  let hi = input.length - 4;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (completes(input.subarray(2, mid))) hi = mid;
    else lo = mid + 1;
  }
  const want = adler32(out);
  const got = ((input[lo] ?? 0) * 2 ** 24 + ((input[lo + 1] ?? 0) << 16) + ((input[lo + 2] ?? 0) << 8) + (input[lo + 3] ?? 0)) >>> 0;
  if (got === want) return out;
  throw new DecompressError('zlib', `Adler-32 mismatch: stored ${got.toString(16)}, computed ${want.toString(16)}`);
}

/** zstd frames (4.19 .. 6.5, `pstore.compress=zstd`). */
export function unzstd(input: Uint8Array, limit: number): Uint8Array {
  return collect(
    'zstd',
    limit,
    (ondata) => {
      const s = new ZstdStream((c: Uint8Array) => ondata(c));
      return { push: (c: Uint8Array, final: boolean): void => void s.push(c, final) };
    },
    input,
  );
}

/** Decompress with the named algorithm, bounded by `limit` bytes of output. */
export function decompress(algorithm: Algorithm, input: Uint8Array, limit: number): Uint8Array {
  switch (algorithm) {
    case 'deflate':
      return inflateRaw(input, limit);
    case 'zlib':
      return inflateZlib(input, limit);
    case 'zstd':
      return unzstd(input, limit);
    // lz4hc differs only in how hard the compressor searches: the block format is the same.
    case 'lz4':
    case 'lz4hc':
      return lz4DecompressBlock(input, limit, algorithm);
    case 'lzo':
      return lzoDecompressBlock(input, limit);
    case '842':
      return sw842Decompress(input, limit);
  }
}

/** zstd 1.4+'s ZSTD_compressBound (the kernel's lib/zstd from 5.16). */
export function zstdCompressBound(n: number): number {
  return n + (n >>> 8) + (n < 128 << 10 ? ((128 << 10) - n) >>> 11 : 0);
}

/** zstd 1.3's ZSTD_compressBound (the kernel's lib/zstd 4.14 .. 5.15): FSE_compressBound(n) + 12. */
export function zstdCompressBoundLegacy(n: number): number {
  return 512 + n + (n >>> 7) + 12;
}

/** LZ4_compressBound. */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/** lzo1x_worst_compress; `rle`: the two bytes LZO-RLE's bitstream version added to it in 5.1. */
export function lzoWorst(n: number, rle = true): number {
  return n + Math.floor(n / 16) + 64 + 3 + (rle ? 2 : 0);
}

/**
 * What decides the work buffer of the reading kernel: 6.6+ sizes it as 3 x bufsize for every
 * record; before, per algorithm, with bounds that changed with the kernel version
 * (kernel/version.ts workBufferRules). Unknown rules (no version): the larger bound, which any
 * record a real kernel wrote fits, since its text was collected into that kernel's own buffer.
 */
export interface WorkBufferKernel {
  readonly inflate66: boolean;
  readonly lzoRleBytes?: boolean | undefined;
  readonly zstdLegacyBound?: boolean | undefined;
}

/**
 * Size of the kernel's decompression work buffer (≤6.5: zbufsize_* of bufsize; 6.6+: 3 × bufsize),
 * which bounds what a 'C' record may decompress to.
 */
export function workBufferSize(algorithm: Algorithm, bufsize: number, kernel: WorkBufferKernel): number {
  if (kernel.inflate66) return 3 * bufsize;
  switch (algorithm) {
    case 'deflate':
    case 'zlib': {
      let r = 60;
      if (bufsize >= 1000 && bufsize <= 2000) r = 56;
      else if (bufsize >= 2001 && bufsize <= 3000) r = 54;
      else if (bufsize >= 3001 && bufsize <= 3999) r = 52;
      else if (bufsize >= 4000 && bufsize <= 10000) r = 45;
      return Math.floor((bufsize * 100) / r);
    }
    case 'zstd':
      if (kernel.zstdLegacyBound === undefined) return Math.max(zstdCompressBound(bufsize), zstdCompressBoundLegacy(bufsize));
      return kernel.zstdLegacyBound ? zstdCompressBoundLegacy(bufsize) : zstdCompressBound(bufsize);
    case 'lz4':
    case 'lz4hc':
      return lz4CompressBound(bufsize);
    case 'lzo':
      return lzoWorst(bufsize, kernel.lzoRleBytes ?? true);
    case '842':
      return bufsize;
  }
}
