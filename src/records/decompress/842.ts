// The software 842 format, as pstore's "842" writes it (crypto API "842": sw842_compress, 4.17
// .. 6.5), read with the rules of the kernel's sw842_decompress (lib/842/842_decompress.c).
//
// The stream is a big-endian bit stream of 5-bit templates. Templates 0x00..0x19 each produce
// 8 bytes from up to four actions: data (2, 4 or 8 literal bytes from the stream) or index (an
// 8-, 9- or 8-bit index naming a 2-, 4- or 8-byte slot of a ring over the output so far:
// 512, 2048 and 2048 bytes). 0x1b repeats the last 8 bytes 1..64 times, 0x1c writes 8 zeros,
// 0x1d (software only) writes 1..7 literal bytes, 0x1e ends the stream and is followed by a
// CRC-32 (big-endian, seed 0, no inversion) of the whole output. Bits after the CRC are
// padding.
//
// Where the kernel's decoder does not bound its writes (index and short-data actions never
// check the space left), a stream that would overrun the buffer corrupts kernel memory; here it
// is an OutputLimitError, the only answer a reader can give.
import { DecompressError, OutputLimitError } from '../../errors.js';
import { Window } from './window.js';

const OP_REPEAT = 0x1b;
const OP_ZEROS = 0x1c;
const OP_SHORT_DATA = 0x1d;
const OP_END = 0x1e;

// Actions: data (D) or index (I) of 2, 4 or 8 bytes. One row per template 0x00..0x19.
type Action = 'D2' | 'D4' | 'D8' | 'I2' | 'I4' | 'I8';
const TEMPLATES: readonly (readonly Action[])[] = [
  ['D8'],
  ['D4', 'D2', 'I2'],
  ['D4', 'I2', 'D2'],
  ['D4', 'I2', 'I2'],
  ['D4', 'I4'],
  ['D2', 'I2', 'D4'],
  ['D2', 'I2', 'D2', 'I2'],
  ['D2', 'I2', 'I2', 'D2'],
  ['D2', 'I2', 'I2', 'I2'],
  ['D2', 'I2', 'I4'],
  ['I2', 'D2', 'D4'],
  ['I2', 'D4', 'I2'],
  ['I2', 'D2', 'I2', 'D2'],
  ['I2', 'D2', 'I2', 'I2'],
  ['I2', 'D2', 'I4'],
  ['I2', 'I2', 'D4'],
  ['I2', 'I2', 'D2', 'I2'],
  ['I2', 'I2', 'I2', 'D2'],
  ['I2', 'I2', 'I2', 'I2'],
  ['I2', 'I2', 'I4'],
  ['I4', 'D4'],
  ['I4', 'D2', 'I2'],
  ['I4', 'I2', 'D2'],
  ['I4', 'I2', 'I2'],
  ['I4', 'I4'],
  ['I8'],
];

/** Index bits and ring size in bytes, by slot size. */
const INDEX: Readonly<Record<2 | 4 | 8, { readonly bits: number; readonly ring: number }>> = {
  2: { bits: 8, ring: 2 * (1 << 8) },
  4: { bits: 9, ring: 4 * (1 << 9) },
  8: { bits: 8, ring: 8 * (1 << 8) },
};

const CRC_TABLE: Readonly<Uint32Array> = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32 MSB-first, polynomial 0x04c11db7, no pre/post inversion: the kernel's crc32_be(0, ...). */
export function crc32be(bytes: Uint8Array, seed = 0): number {
  let crc = seed >>> 0;
  for (const b of bytes) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ b) & 0xff] ?? 0)) >>> 0;
  return crc;
}

/** Decodes an sw842 stream with sw842_decompress's rules, CRC included; the output may not exceed `limit`. */
export function sw842Decompress(input: Uint8Array, limit: number): Uint8Array {
  const algorithm = '842';
  const totalBits = input.length * 8;
  let pos = 0;
  const bits = (n: number): number => {
    if (pos + n > totalBits) throw new DecompressError(algorithm, `stream ends inside a ${n}-bit field at bit ${pos} of ${totalBits}`);
    let v = 0;
    for (let i = 0; i < n; i++, pos++) v = v * 2 + (((input[pos >>> 3] ?? 0) >>> (7 - (pos & 7))) & 1);
    return v;
  };
  const out = new Window(limit, input.length * 4);
  const room = (n: number): void => {
    if (out.length + n > limit) throw new OutputLimitError(algorithm, limit);
  };
  const data = (n: number): void => {
    room(n);
    const tmp = new Uint8Array(n);
    for (let i = 0; i < n; i++) tmp[i] = bits(8);
    out.literal(tmp, 0, n);
  };
  const index = (size: 2 | 4 | 8): void => {
    const { bits: width, ring } = INDEX[size];
    // The ring covers whole 8-byte groups written so far, even in the middle of a template.
    const total = out.length - (out.length % 8);
    let offset = bits(width) * size;
    if (total > ring) {
      let section = total - (total % ring);
      if (offset >= total - section) section -= ring;
      offset += section;
    }
    if (offset + size > total) throw new DecompressError(algorithm, `index${size} to byte ${offset} points past the ${total} bytes written`);
    room(size);
    out.match(out.length - offset, size);
  };

  for (;;) {
    const op = bits(5);
    if (op === OP_END) break;
    if (op === OP_REPEAT) {
      const count = bits(6) + 1;
      if (out.length === 0) throw new DecompressError(algorithm, 'repeat with nothing written before it');
      // The kernel copies from 8 bytes back whatever is there; with fewer than 8 bytes written
      // that is memory before its buffer, which no reader can reproduce.
      if (out.length < 8) throw new DecompressError(algorithm, `repeat after only ${out.length} bytes`);
      room(count * 8);
      for (let i = 0; i < count; i++) out.match(8, 8);
    } else if (op === OP_ZEROS) {
      room(8);
      out.zeros(8);
    } else if (op === OP_SHORT_DATA) {
      const n = bits(3);
      if (n === 0) throw new DecompressError(algorithm, 'short data of 0 bytes');
      data(n);
    } else {
      const row = TEMPLATES[op];
      if (row === undefined) throw new DecompressError(algorithm, `invalid template 0x${op.toString(16)} at bit ${pos - 5}`);
      for (const a of row) {
        const n = Number(a[1]) as 2 | 4 | 8;
        if (a[0] === 'D') data(n);
        else index(n);
      }
    }
  }
  const stored = bits(32) >>> 0;
  const result = out.bytes();
  const computed = crc32be(result);
  if (stored !== computed) throw new DecompressError(algorithm, `CRC mismatch: stored ${stored.toString(16)}, computed ${computed.toString(16)}`);
  return result;
}
