// Snappy raw-block decompression (google/snappy format_description.txt), as makedumpfile -p
// stores kdump pages (snappy_compress, no framing): a varint of the uncompressed length, then
// literal and copy elements. Every read, write and back-reference is bounds-checked.
import { DecompressError, OutputLimitError } from '../../errors.js';

/** Decompresses one raw Snappy block; the output may not exceed `limit` bytes. */
export function snappyDecompress(input: Uint8Array, limit: number): Uint8Array {
  let ip = 0;
  const fail = (why: string): never => {
    throw new DecompressError('snappy', `${why} (input byte ${ip} of ${input.length})`);
  };
  const byte = (): number => {
    if (ip >= input.length) fail('input ends early');
    return input[ip++] as number;
  };
  // The preamble: the uncompressed length as a little-endian base-128 varint (at most 32 bits).
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (shift > 28) fail('length varint longer than 5 bytes');
    const b = byte();
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length > limit) throw new OutputLimitError('snappy', limit);
  const out = new Uint8Array(length);
  let op = 0;
  while (ip < input.length) {
    const tag = byte();
    const kind = tag & 3;
    if (kind === 0) {
      // Literal: length - 1 in the upper six bits, or in the next 1..4 bytes when those say 60..63.
      let n = tag >> 2;
      if (n >= 60) {
        const bytes = n - 59;
        n = 0;
        for (let k = 0; k < bytes; k++) n += byte() * 2 ** (8 * k);
      }
      n += 1;
      if (ip + n > input.length) fail(`literal of ${n} bytes runs past the input`);
      if (op + n > length) fail(`literal of ${n} bytes overflows the declared length ${length}`);
      out.set(input.subarray(ip, ip + n), op);
      ip += n;
      op += n;
      continue;
    }
    let n: number;
    let dist: number;
    if (kind === 1) {
      // Copy with a 1-byte offset: 4..11 bytes, offset up to 2047 (3 high bits in the tag).
      n = ((tag >> 2) & 7) + 4;
      dist = ((tag >> 5) << 8) | byte();
    } else if (kind === 2) {
      n = (tag >> 2) + 1;
      dist = byte() | (byte() << 8);
    } else {
      n = (tag >> 2) + 1;
      dist = (byte() | (byte() << 8) | (byte() << 16)) + byte() * 2 ** 24;
    }
    if (dist === 0 || dist > op) fail(`copy offset ${dist} reaches before the start of the output (at ${op})`);
    if (op + n > length) fail(`copy of ${n} bytes overflows the declared length ${length}`);
    // Overlapping copies repeat a pattern, so copy byte by byte.
    for (let k = 0; k < n; k++) out[op + k] = out[op - dist + k] as number;
    op += n;
  }
  if (op !== length) fail(`decoded ${op} bytes, the preamble declared ${length}`);
  return out;
}
