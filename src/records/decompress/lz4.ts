// Raw LZ4 blocks (no frame), as pstore's "lz4" and "lz4hc" write them (4.9 .. 6.5). The kernel
// reads them with LZ4_decompress_safe(src, dst, srclen, work-buffer size); this decoder accepts
// and rejects the same inputs, so a damaged record fails here exactly when the kernel names it
// .enc.z. The checks below are the ones lib/lz4/lz4_decompress.c (LZ4 1.8.x, kernel 5.x .. 6.5)
// makes, including where they depend on how close the output is to the end of the buffer.
import { DecompressError, OutputLimitError } from '../../errors.js';
import { Window } from './window.js';

const MINMATCH = 4;
const LASTLITERALS = 5;
// The "fast path" and end-of-block limits of the reference decoder, in bytes.
const MFLIMIT = 12;
const RUN_MASK = 15;
const ML_MASK = 15;

/** Decodes one raw LZ4 block with LZ4_decompress_safe's rules; the output may not exceed `limit`. */
export function lz4DecompressBlock(input: Uint8Array, limit: number, algorithm = 'lz4'): Uint8Array {
  const bad = (why: string, at: number): DecompressError => new DecompressError(algorithm, `${why} at input byte ${at}`);
  const iend = input.length;
  const oend = limit;
  if (oend === 0) {
    if (iend === 1 && input[0] === 0) return new Uint8Array(0);
    throw new OutputLimitError(algorithm, limit);
  }
  if (iend === 0) throw bad('empty block', 0);

  const out = new Window(limit, input.length * 4);
  let ip = 0;
  for (;;) {
    const token = input[ip++] ?? 0;
    let length = token >>> 4;
    let offset: number;
    let matchLength: number;
    const op = out.length;

    // The reference decoder's shortcut for short literal runs far from both ends: it does not
    // apply the end-of-block test to these literals, so neither do we (the results differ only
    // for malformed blocks, and there the kernel's answer is the one that counts).
    if (length !== RUN_MASK && ip < iend - 16 && op <= oend - 32) {
      out.literal(input, ip, length);
      ip += length;
      offset = (input[ip] ?? 0) | ((input[ip + 1] ?? 0) << 8);
      ip += 2;
      matchLength = token & ML_MASK;
      if (matchLength !== ML_MASK && offset >= 8 && offset <= out.length) {
        out.match(offset, matchLength + MINMATCH);
        continue;
      }
    } else {
      if (length === RUN_MASK) {
        if (ip >= iend - RUN_MASK) throw bad('literal length runs past the end of the block', ip);
        let s: number;
        do {
          s = input[ip++] ?? 0;
          length += s;
        } while (ip < iend - RUN_MASK && s === 255);
      }
      if (op + length > oend - MFLIMIT || ip + length > iend - (2 + 1 + LASTLITERALS)) {
        // Only the last sequence may come this close to either end, and it must end the input
        // exactly, with literals only.
        if (op + length > oend) throw new OutputLimitError(algorithm, limit);
        if (ip + length !== iend) throw bad(`last literals (${length} bytes) do not end the block (${iend} bytes)`, ip);
        out.literal(input, ip, length);
        return out.bytes();
      }
      out.literal(input, ip, length);
      ip += length;
      offset = (input[ip] ?? 0) | ((input[ip + 1] ?? 0) << 8);
      ip += 2;
      matchLength = token & ML_MASK;
    }

    if (offset > out.length) throw bad(`match offset ${offset} points before the start of the output (${out.length} bytes)`, ip - 2);
    if (matchLength === ML_MASK) {
      let s: number;
      do {
        s = input[ip++] ?? 0;
        if (ip > iend - LASTLITERALS) throw bad('match length runs into the last literals', ip);
        matchLength += s;
      } while (s === 255);
    }
    matchLength += MINMATCH;
    const cpy = out.length + matchLength;
    // The last LASTLITERALS bytes of the buffer are reserved for literals.
    if (cpy > oend - MFLIMIT && cpy > oend - LASTLITERALS) throw new OutputLimitError(algorithm, limit);
    // Offset 0 is not an error for this decoder: it first stores the offset (0) at the output
    // position, then copies from there, so the match comes out as zeros.
    if (offset === 0) out.zeros(matchLength);
    else out.match(offset, matchLength);
  }
}
