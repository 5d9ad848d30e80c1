// LZO1X raw blocks, as pstore's "lzo" writes them (crypto API "lzo": lzo1x_1_compress, 4.9 ..
// 6.5). The kernel reads them with lzo1x_decompress_safe (lib/lzo/lzo1x_decompress_safe.c)
// into the work buffer and accepts only LZO_E_OK: the stream must end with its end marker
// exactly at the end of the input. Since 5.1 that decoder also takes the LZO-RLE form (first
// byte 17, then a version byte, then zero-run instructions); pstore never writes it, but a
// reader that follows the kernel accepts it too. The checks (and so which damaged inputs fail)
// are the kernel's; the x86 fast paths it has are equivalent to its byte loops and not copied.
import { DecompressError, OutputLimitError } from '../../errors.js';
import { Window } from './window.js';

const ALGORITHM = 'lzo';
const M2_MAX_OFFSET = 0x0800;
const MIN_ZERO_RUN_LENGTH = 4;

/** Decodes one LZO1X block with lzo1x_decompress_safe's rules; the output may not exceed `limit`. */
export function lzoDecompressBlock(input: Uint8Array, limit: number): Uint8Array {
  const s = new LzoStream(input, limit);
  if (s.ipEnd < 3) throw s.overrun();
  let bitstreamVersion = 0;
  if (s.ipEnd >= 5 && s.u8(0) === 17) {
    bitstreamVersion = s.u8(1);
    s.ip = 2;
  }

  // What the previous instruction left: 0 after a match with no trailing literals, 1..3 after
  // that many trailing literals, 4 after a literal run. It decides what a byte < 16 means.
  let state = 0;
  if (s.u8(s.ip) > 17) {
    const t = s.u8(s.ip++) - 17;
    if (t < 4) {
      s.trailing(t);
      state = t;
    } else {
      s.literals(t);
      state = 4;
    }
  }

  for (;;) {
    const t = s.u8(s.ip++);
    if (t < 16) {
      state = state === 0 ? literalRun(s, t) : state !== 4 ? nearMatch(s, t) : matchAfterLiterals(s, t);
    } else if (t >= 64) {
      // M2: 3..8 bytes within 2 KiB.
      const next = t & 3;
      const distance = 1 + ((t >>> 2) & 7) + (s.u8(s.ip++) << 3);
      state = s.copyMatch(distance, (t >>> 5) + 1, next);
    } else if (t >= 32) {
      state = m3(s, t);
    } else {
      const r = m4(s, t, bitstreamVersion);
      if (r === END) return s.out.bytes();
      state = r;
    }
  }
}

/** m4's result at the end-of-stream marker. */
const END = -1;

/** A literal run of 3 + t bytes (t == 0: a longer run, length extended); leaves state 4. */
function literalRun(s: LzoStream, t: number): number {
  s.literals((t === 0 ? s.extendedLength(15) : t) + 3);
  return 4;
}

/** M1 after 1..3 trailing literals: a 2-byte match within 1 KiB. */
function nearMatch(s: LzoStream, t: number): number {
  const next = t & 3;
  const distance = 1 + (t >>> 2) + (s.u8(s.ip++) << 2);
  if (distance > s.out.length) throw new DecompressError(ALGORITHM, `match distance ${distance} before the start of the output`);
  s.needOp(2);
  s.out.match(distance, 2);
  s.trailing(next);
  return next;
}

/** M1 right after a literal run: a 3-byte match 2..3 KiB back. */
function matchAfterLiterals(s: LzoStream, t: number): number {
  const next = t & 3;
  const distance = 1 + M2_MAX_OFFSET + (t >>> 2) + (s.u8(s.ip++) << 2);
  return s.copyMatch(distance, 3, next);
}

/** M3: within 16 KiB, length 3..33 or extended. */
function m3(s: LzoStream, t: number): number {
  let length = (t & 31) + 2;
  if (length === 2) {
    length = s.extendedLength(31) + 2;
    s.needIp(2);
  }
  const le = s.u8(s.ip) | (s.u8(s.ip + 1) << 8);
  s.ip += 2;
  return s.copyMatch(1 + (le >>> 2), length, le & 3);
}

/** 16..31: M4 (16..48 KiB back), the end-of-stream marker (END), or (LZO-RLE) a run of zeros. */
function m4(s: LzoStream, t: number, bitstreamVersion: number): number {
  s.needIp(2);
  let le = s.u8(s.ip) | (s.u8(s.ip + 1) << 8);
  if ((le & 0xfffc) === 0xfffc && (t & 0xf8) === 0x18 && bitstreamVersion !== 0) {
    s.needIp(3);
    const run = ((t & 7) | (s.u8(s.ip + 2) << 3)) + MIN_ZERO_RUN_LENGTH;
    s.needOp(run);
    s.out.zeros(run);
    const next = le & 3;
    s.ip += 3;
    s.trailing(next);
    return next;
  }
  let distance = (t & 8) << 11;
  let length = (t & 7) + 2;
  if (length === 2) {
    length = s.extendedLength(7) + 2;
    s.needIp(2);
    le = s.u8(s.ip) | (s.u8(s.ip + 1) << 8);
  }
  s.ip += 2;
  distance += le >>> 2;
  if (distance === 0) {
    // The end marker: valid only as 0x11 0x00 0x00 and only at the very end of the input.
    if (length !== 3) throw new DecompressError(ALGORITHM, `bad end-of-stream marker at byte ${s.ip - 3}`);
    if (s.ip < s.ipEnd) throw new DecompressError(ALGORITHM, `${s.ipEnd - s.ip} bytes after the end of the stream`);
    if (s.ip > s.ipEnd) throw s.overrun();
    return END;
  }
  return s.copyMatch(distance + 0x4000, length, le & 3);
}

/** The input position, the output window and the bounds checks lzo1x_decompress_safe makes. */
class LzoStream {
  ip = 0;
  readonly ipEnd: number;
  readonly out: Window;

  constructor(
    private readonly input: Uint8Array,
    private readonly limit: number,
  ) {
    this.ipEnd = input.length;
    this.out = new Window(limit, input.length * 4);
  }

  overrun(): DecompressError {
    return new DecompressError(ALGORITHM, `input overrun at byte ${this.ip} of ${this.ipEnd}`);
  }

  needIp(n: number): void {
    if (this.ipEnd - this.ip < n) throw this.overrun();
  }

  needOp(n: number): void {
    if (this.limit - this.out.length < n) throw new OutputLimitError(ALGORITHM, this.limit);
  }

  u8(at: number): number {
    return this.input[at] ?? 0;
  }

  // Counts a run of zero bytes (each worth 255) that extends a length field, then adds the byte
  // that ends it; `base` is what the field's own bits are worth when they are all zero.
  extendedLength(base: number): number {
    const first = this.ip;
    while (this.u8(this.ip) === 0) {
      this.ip++;
      this.needIp(1);
    }
    const zeros = this.ip - first;
    return zeros * 255 + base + this.u8(this.ip++);
  }

  literals(n: number): void {
    this.needOp(n);
    this.needIp(n + 3);
    this.out.literal(this.input, this.ip, n);
    this.ip += n;
  }

  /** The 0..3 literals that follow every match, in the low bits of its last instruction byte. */
  trailing(n: number): void {
    this.needIp(n + 3);
    this.needOp(n);
    this.out.literal(this.input, this.ip, n);
    this.ip += n;
  }

  /** Copies `length` bytes from `distance` back, then the `next` trailing literals; returns the new state. */
  copyMatch(distance: number, length: number, next: number): number {
    if (distance > this.out.length)
      throw new DecompressError(ALGORITHM, `match distance ${distance} before the start of the output (${this.out.length} bytes)`);
    this.needOp(length);
    this.out.match(distance, length);
    this.trailing(next);
    return next;
  }
}
