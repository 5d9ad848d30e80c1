// LZO1X decompression (the format liblzo2's lzo1x_1_compress writes, which makedumpfile -l
// uses for kdump pages). Follows the structure of the Linux kernel's lib/lzo/lzo1x_decompress_safe.c
// (instruction classes M1..M4, two-bit trailing-literal state, the 0x11 0 0 end marker), with
// every input read, output write and look-behind bounds-checked.
import { DecompressError, OutputLimitError } from '../../errors.js';

const M2_MAX_OFFSET = 0x0800;

/** Decompresses one LZO1X block; the output may not exceed `limit` bytes. */
export function lzo1xDecompress(input: Uint8Array, limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  let ip = 0;
  let op = 0;
  const fail = (why: string): never => {
    throw new DecompressError('lzo', `${why} (input byte ${ip} of ${input.length}, output byte ${op})`);
  };
  const byte = (): number => {
    if (ip >= input.length) fail('input ends early');
    return input[ip++] as number;
  };
  const literals = (n: number): void => {
    if (ip + n > input.length) fail(`literal run of ${n} bytes runs past the input`);
    if (op + n > limit) throw new OutputLimitError('lzo', limit);
    // Short runs are the common case; a loop beats creating a subarray for them.
    if (n > 32) out.set(input.subarray(ip, ip + n), op);
    else for (let k = 0; k < n; k++) out[op + k] = input[ip + k] as number;
    ip += n;
    op += n;
  };
  const copyMatch = (dist: number, n: number): void => {
    // dist counts back from the byte after the last one written (1 = repeat the last byte).
    const from = op - dist;
    if (from < 0) fail(`match reaches ${-from} bytes before the start of the output`);
    if (op + n > limit) throw new OutputLimitError('lzo', limit);
    // Overlapping copies (dist < n) repeat a pattern, so those go byte by byte, as do short ones.
    if (dist >= n && n > 32) out.copyWithin(op, from, from + n);
    else for (let k = 0; k < n; k++) out[op + k] = out[from + k] as number;
    op += n;
  };
  const extended = (t: number, base: number): number => {
    // A zero length field is followed by zero bytes each worth 255, then a final non-zero byte.
    if (t !== 0) return t;
    let n = 0;
    let b = byte();
    while (b === 0) {
      n += 255;
      if (n > limit + 255) fail('length run longer than the output');
      b = byte();
    }
    return n + base + b;
  };

  if (input.length === 0) fail('empty input');
  // The state is the number of literals that followed the previous match (0..3), or 4 after a
  // literal run of 4 or more; it decides how an instruction byte below 16 is read.
  let state = 0;
  let t = byte();
  if (t > 17) {
    // A first byte above 17 is a literal run of t - 17 bytes with no instruction before it.
    const n = t - 17;
    literals(n);
    state = n < 4 ? n : 4;
    t = byte();
  }
  for (;;) {
    let trailing: number;
    if (t >= 64) {
      // M2: 3..8 bytes, distance 1..2048: LLLDDDSS DDDDDDDD.
      const d = byte();
      const dist = ((t >> 2) & 7) + (d << 3) + 1;
      copyMatch(dist, (t >> 5) + 1);
      trailing = t & 3;
    } else if (t >= 32) {
      // M3: distance 1..16384: 001LLLLL [len...] DDDDDDSS DDDDDDDD.
      const n = extended(t & 31, 31) + 2;
      const lo = byte();
      const hi = byte();
      copyMatch(((lo | (hi << 8)) >> 2) + 1, n);
      trailing = lo & 3;
    } else if (t >= 16) {
      // M4: distance 16385..49151: 0001HLLL [len...] DDDDDDSS DDDDDDDD; distance 16384 ends the stream.
      const n = extended(t & 7, 7) + 2;
      const lo = byte();
      const hi = byte();
      const dist = ((t & 8) << 11) + ((lo | (hi << 8)) >> 2);
      if (dist === 0) {
        if (ip !== input.length) fail(`${input.length - ip} bytes after the end marker`);
        return op === limit ? out : out.slice(0, op);
      }
      copyMatch(dist + 0x4000, n);
      trailing = lo & 3;
    } else if (state === 0) {
      // A literal run: 0000LLLL [len...], 3 + L bytes.
      const n = extended(t, 15) + 3;
      literals(n);
      state = 4;
      t = byte();
      continue;
    } else if (state === 4) {
      // M1 right after a literal run: 3 bytes, distance 2049..3072.
      const d = byte();
      copyMatch((t >> 2) + (d << 2) + M2_MAX_OFFSET + 1, 3);
      trailing = t & 3;
    } else {
      // M1 after a match's trailing literals: 2 bytes, distance 1..1024.
      const d = byte();
      copyMatch((t >> 2) + (d << 2) + 1, 2);
      trailing = t & 3;
    }
    // The low two bits of the instruction: literals copied before the next instruction.
    if (trailing > 0) literals(trailing);
    state = trailing;
    t = byte();
  }
}
