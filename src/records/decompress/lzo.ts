// LZO1X raw blocks, as pstore's "lzo" writes them (crypto API "lzo": lzo1x_1_compress, 4.9 ..
// 6.5). The kernel reads them with lzo1x_decompress_safe (lib/lzo/lzo1x_decompress_safe.c)
// into the work buffer and accepts only LZO_E_OK: the stream must end with its end marker
// exactly at the end of the input. Since 5.1 that decoder also takes the LZO-RLE form (first
// byte 17, then a version byte, then zero-run instructions); pstore never writes it, but a
// reader that follows the kernel accepts it too. The checks (and so which damaged inputs fail)
// are the kernel's; the x86 fast paths it has are equivalent to its byte loops and not copied.
import { DecompressError, OutputLimitError } from '../../errors.js';
import { Window } from './window.js';

const M2_MAX_OFFSET = 0x0800;
const MIN_ZERO_RUN_LENGTH = 4;

/** Decodes one LZO1X block with lzo1x_decompress_safe's rules; the output may not exceed `limit`. */
export function lzoDecompressBlock(input: Uint8Array, limit: number): Uint8Array {
  const algorithm = 'lzo';
  const ipEnd = input.length;
  const out = new Window(limit, input.length * 4);
  let ip = 0;
  const overrun = (): DecompressError => new DecompressError(algorithm, `input overrun at byte ${ip} of ${ipEnd}`);
  const needIp = (n: number): void => {
    if (ipEnd - ip < n) throw overrun();
  };
  const needOp = (n: number): void => {
    if (limit - out.length < n) throw new OutputLimitError(algorithm, limit);
  };
  const u8 = (at: number): number => input[at] ?? 0;
  // Counts a run of zero bytes (each worth 255) that extends a length field, then adds the byte
  // that ends it; `base` is what the field's own bits are worth when they are all zero.
  const extendedLength = (base: number): number => {
    const first = ip;
    while (u8(ip) === 0) {
      ip++;
      needIp(1);
    }
    const zeros = ip - first;
    return zeros * 255 + base + u8(ip++);
  };
  const literals = (n: number): void => {
    needOp(n);
    needIp(n + 3);
    out.literal(input, ip, n);
    ip += n;
  };
  // The 0..3 literals that follow every match, in the low bits of its last instruction byte.
  const trailing = (n: number): void => {
    needIp(n + 3);
    needOp(n);
    out.literal(input, ip, n);
    ip += n;
  };

  if (ipEnd < 3) throw overrun();
  let bitstreamVersion = 0;
  if (ipEnd >= 5 && u8(0) === 17) {
    bitstreamVersion = u8(1);
    ip = 2;
  }

  // What the previous instruction left: 0 after a match with no trailing literals, 1..3 after
  // that many trailing literals, 4 after a literal run. It decides what a byte < 16 means.
  let state = 0;
  if (u8(ip) > 17) {
    const t = u8(ip++) - 17;
    if (t < 4) {
      trailing(t);
      state = t;
    } else {
      literals(t);
      state = 4;
    }
  }

  for (;;) {
    let t = u8(ip++);
    let distance: number;
    let next: number;
    if (t < 16) {
      if (state === 0) {
        // A literal run of 3 + t bytes (t == 0: a longer run, length extended).
        if (t === 0) t = extendedLength(15);
        literals(t + 3);
        state = 4;
        continue;
      }
      if (state !== 4) {
        // M1 after 1..3 trailing literals: a 2-byte match within 1 KiB.
        next = t & 3;
        distance = 1 + (t >>> 2) + (u8(ip++) << 2);
        if (distance > out.length) throw new DecompressError(algorithm, `match distance ${distance} before the start of the output`);
        needOp(2);
        out.match(distance, 2);
        trailing(next);
        state = next;
        continue;
      }
      // M1 right after a literal run: a 3-byte match 2..3 KiB back.
      next = t & 3;
      distance = 1 + M2_MAX_OFFSET + (t >>> 2) + (u8(ip++) << 2);
      t = 3;
    } else if (t >= 64) {
      // M2: 3..8 bytes within 2 KiB.
      next = t & 3;
      distance = 1 + ((t >>> 2) & 7) + (u8(ip++) << 3);
      t = (t >>> 5) + 1;
    } else if (t >= 32) {
      // M3: within 16 KiB, length 3..33 or extended.
      t = (t & 31) + 2;
      if (t === 2) {
        t = extendedLength(31) + 2;
        needIp(2);
      }
      const le = u8(ip) | (u8(ip + 1) << 8);
      ip += 2;
      distance = 1 + (le >>> 2);
      next = le & 3;
    } else {
      // 16..31: M4 (16..48 KiB back), the end-of-stream marker, or (LZO-RLE) a run of zeros.
      needIp(2);
      let le = u8(ip) | (u8(ip + 1) << 8);
      if ((le & 0xfffc) === 0xfffc && (t & 0xf8) === 0x18 && bitstreamVersion !== 0) {
        needIp(3);
        const run = ((t & 7) | (u8(ip + 2) << 3)) + MIN_ZERO_RUN_LENGTH;
        needOp(run);
        out.zeros(run);
        next = le & 3;
        ip += 3;
        trailing(next);
        state = next;
        continue;
      }
      distance = (t & 8) << 11;
      t = (t & 7) + 2;
      if (t === 2) {
        t = extendedLength(7) + 2;
        needIp(2);
        le = u8(ip) | (u8(ip + 1) << 8);
      }
      ip += 2;
      distance += le >>> 2;
      next = le & 3;
      if (distance === 0) {
        // The end marker: valid only as 0x11 0x00 0x00 and only at the very end of the input.
        if (t !== 3) throw new DecompressError(algorithm, `bad end-of-stream marker at byte ${ip - 3}`);
        if (ip < ipEnd) throw new DecompressError(algorithm, `${ipEnd - ip} bytes after the end of the stream`);
        if (ip > ipEnd) throw overrun();
        return out.bytes();
      }
      distance += 0x4000;
    }
    if (distance > out.length) throw new DecompressError(algorithm, `match distance ${distance} before the start of the output (${out.length} bytes)`);
    needOp(t);
    out.match(distance, t);
    trailing(next);
    state = next;
  }
}
