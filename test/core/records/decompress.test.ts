// LZ4, LZ4HC, LZO and 842 decoders on streams the kernel's own compressors wrote (lib/lz4,
// lib/lzo, lib/842 of linux-source-6.1, built for the host by test/golden/decompress/
// kernel-codecs/build.sh), on hand-made streams for the corners, and on random bytes: only
// DecompressError / OutputLimitError may come out, and never more than the limit.
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DecompressError, OutputLimitError } from '../../../src/errors.js';
import { crc32be, sw842Decompress } from '../../../src/records/decompress/842.js';
import { decompress, workBufferSize, type Algorithm } from '../../../src/records/decompress/index.js';
import { workBufferRules } from '../../../src/kernel/version.js';
import { lz4DecompressBlock } from '../../../src/records/decompress/lz4.js';
import { lzoDecompressBlock } from '../../../src/records/decompress/lzo.js';
import { fixturesDir, repoRoot } from '../../helpers/paths.js';

const TEXT = new Uint8Array(readFileSync(join(fixturesDir(), 'c61-full-deflate', 'expected', 'dmesg-ramoops-0')));
const vector = (name: string): Uint8Array => new Uint8Array(readFileSync(join(repoRoot(), 'test', 'golden', 'decompress', name)));

const VECTORS: readonly (readonly [file: string, algorithm: Algorithm])[] = [
  ['dmesg.lz4', 'lz4'],
  ['dmesg.lz4hc', 'lz4hc'],
  ['dmesg.lzo', 'lzo'],
  ['dmesg.lzo-rle', 'lzo'],
  ['dmesg.842', '842'],
];

/**
 * The cuts the kernel's decoders accept (checked with kernel-codecs' kdecompress), by cut
 * length (-1: all but the last byte) -> output length: "11 01 00", the first three bytes of an
 * LZO-RLE stream, happen to be a complete empty stream; an 842 stream ends in padding bits.
 */
const KERNEL_ACCEPTS: Readonly<Record<string, Readonly<Record<number, number>>>> = {
  'dmesg.lzo-rle': { 3: 0 },
  'dmesg.842': { [-1]: TEXT.length },
};

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

for (const [file, algorithm] of VECTORS) {
  test(`${file}: kernel-compressed dmesg text decodes to the original`, (t) => {
    const out = decompress(algorithm, vector(file), 64 * 1024);
    t.is(out.length, TEXT.length);
    t.true(same(out, TEXT));
  });

  test(`${file}: a limit of exactly the text's length is enough, one byte less is not`, (t) => {
    t.true(same(decompress(algorithm, vector(file), TEXT.length), TEXT));
    t.throws(() => decompress(algorithm, vector(file), TEXT.length - 1), { instanceOf: OutputLimitError });
  });

  test(`${file}: cuts of the stream fail or succeed as in the kernel`, (t) => {
    const v = vector(file);
    for (const cut of [0, 1, 2, 3, 10, v.length >> 1, v.length - 4, v.length - 1]) {
      const accepted = KERNEL_ACCEPTS[file]?.[cut === v.length - 1 ? -1 : cut];
      if (accepted === undefined) t.throws(() => decompress(algorithm, v.subarray(0, cut), 64 * 1024), { instanceOf: DecompressError }, `cut at ${cut}`);
      else t.is(decompress(algorithm, v.subarray(0, cut), 64 * 1024).length, accepted, `cut at ${cut}`);
    }
  });
}

test('lz4: a block of literals only', (t) => {
  const block = Uint8Array.of(0x50, ...new TextEncoder().encode('hello'));
  t.is(new TextDecoder().decode(lz4DecompressBlock(block, 100)), 'hello');
});

test('lz4: an overlapping match repeats its pattern; offset 0 gives zeros as in the kernel', (t) => {
  // "ab" then a match of 4 + 6 bytes at offset 2, then 5 literals (the end rule).
  const rep = Uint8Array.of(0x26, 0x61, 0x62, 0x02, 0x00, 0x50, 0x76, 0x77, 0x78, 0x79, 0x7a);
  t.is(new TextDecoder().decode(lz4DecompressBlock(rep, 100)), 'ababababababvwxyz');
  const zero = Uint8Array.of(0x26, 0x61, 0x62, 0x00, 0x00, 0x50, 0x76, 0x77, 0x78, 0x79, 0x7a);
  t.deepEqual([...lz4DecompressBlock(zero, 100)], [0x61, 0x62, ...new Array<number>(10).fill(0), 0x76, 0x77, 0x78, 0x79, 0x7a]);
});

test('lz4: a match before the start of the output, and trailing bytes, are errors', (t) => {
  t.throws(() => lz4DecompressBlock(Uint8Array.of(0x26, 0x61, 0x62, 0x03, 0x00, 0x50, 0x76, 0x77, 0x78, 0x79, 0x7a), 100), { instanceOf: DecompressError });
  t.throws(() => lz4DecompressBlock(Uint8Array.of(0x50, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00), 100), { instanceOf: DecompressError });
});

test('lz4: an empty output buffer takes only the one-byte empty block', (t) => {
  t.is(lz4DecompressBlock(Uint8Array.of(0), 0).length, 0);
  t.throws(() => lz4DecompressBlock(Uint8Array.of(0x10, 0x61), 0), { instanceOf: OutputLimitError });
});

test('lzo: the end marker alone is an empty stream; bytes after it are an error', (t) => {
  t.is(lzoDecompressBlock(Uint8Array.of(0x11, 0x00, 0x00), 10).length, 0);
  t.throws(() => lzoDecompressBlock(Uint8Array.of(0x11, 0x00, 0x00, 0x00), 10), { instanceOf: DecompressError });
  t.throws(() => lzoDecompressBlock(Uint8Array.of(0x11, 0x00), 10), { instanceOf: DecompressError });
});

test('lzo: a first literal run, then an M2 match with trailing literals', (t) => {
  // 17 + 4: four literals "abcd"; M2 (t >= 64) of 3 bytes 4 back with 1 trailing literal "e";
  // end marker.
  const m2 = 0x40 | ((4 - 1) << 2) | 1; // length (0x40 >> 5) + 1 = 3, distance 1 + 3 = 4, 1 trailing
  const s = Uint8Array.of(21, 0x61, 0x62, 0x63, 0x64, m2, 0x00, 0x65, 0x11, 0x00, 0x00);
  t.is(new TextDecoder().decode(lzoDecompressBlock(s, 100)), 'abcdabce');
});

test('lzo: a zero run counts only in an LZO-RLE stream (version byte after 17)', (t) => {
  // 17, version 1, then 5 literals, then the RLE instruction as lzorle1x_1_compress writes it:
  // 0x18 | (run-4 & 7), then 0xfffc | trailing-literal count as LE16, then (run-4) >> 3.
  const body = [22, 0x61, 0x62, 0x63, 0x64, 0x65, 0x18 | 2, 0xfc, 0xff, 0x00, 0x11, 0x00, 0x00];
  t.deepEqual([...lzoDecompressBlock(Uint8Array.of(17, 1, ...body), 100)], [0x61, 0x62, 0x63, 0x64, 0x65, 0, 0, 0, 0, 0, 0]);
  // Without the version prefix the same bytes are an M4 match reaching before the output.
  t.throws(() => lzoDecompressBlock(Uint8Array.of(...body), 100), { instanceOf: DecompressError });
});

test('842: crc32_be(0, "123456789") is 0x89a1897f (CRC-32/CKSUM without its final inversion)', (t) => {
  t.is(crc32be(new TextEncoder().encode('123456789')), 0x89a1897f);
});

/** A big-endian bit writer, to hand-make 842 streams. */
function bits842(fields: readonly (readonly [value: number, width: number])[]): Uint8Array {
  const bitsOut: number[] = [];
  for (const [v, w] of fields) for (let i = w - 1; i >= 0; i--) bitsOut.push(Math.floor(v / 2 ** i) % 2);
  while (bitsOut.length % 8 !== 0) bitsOut.push(0);
  const out = new Uint8Array(bitsOut.length / 8);
  for (let i = 0; i < bitsOut.length; i++) out[i >> 3] = (out[i >> 3] ?? 0) | ((bitsOut[i] ?? 0) << (7 - (i & 7)));
  return out;
}

test('842: data, index, repeat, zeros and short data templates, CRC checked', (t) => {
  const data = [1, 2, 3, 4, 5, 6, 7, 8];
  const expected = [...data, ...data, ...data, ...data, 0, 0, 0, 0, 0, 0, 0, 0, 9, 10, 11];
  const crc = crc32be(Uint8Array.from(expected));
  const d8 = data.map((b) => [b, 8] as const);
  const stream = bits842([
    [0x00, 5],
    ...d8, // D8
    [0x19, 5],
    [0, 8], // I8 index 0: the first 8 bytes
    [0x1b, 5],
    [1, 6], // repeat the last 8 bytes twice
    [0x1c, 5], // 8 zeros
    [0x1d, 5],
    [3, 3],
    [9, 8],
    [10, 8],
    [11, 8], // 3 bytes of short data
    [0x1e, 5],
    [crc, 32],
  ]);
  t.deepEqual([...sw842Decompress(stream, 100)], expected);
  // (Eight zeros have CRC 0 with this seed, so 1 is wrong.)
  const badCrc = bits842([
    [0x1c, 5],
    [0x1e, 5],
    [1, 32],
  ]);
  t.throws(() => sw842Decompress(badCrc, 100), { instanceOf: DecompressError, message: /CRC/ });
  t.throws(() => sw842Decompress(bits842([[0x1a, 5]]), 100), { instanceOf: DecompressError, message: /template 0x1a/ });
  t.throws(
    () =>
      sw842Decompress(
        bits842([
          [0x19, 5],
          [0, 8],
        ]),
        100,
      ),
    { instanceOf: DecompressError, message: /points past/ },
  );
});

test('random bytes: only typed errors, output never past the limit', (t) => {
  const algorithms: readonly Algorithm[] = ['lz4', 'lzo', '842'];
  fc.assert(
    fc.property(fc.constantFrom(...algorithms), fc.uint8Array({ maxLength: 300 }), fc.nat(2000), (algorithm, bytes, limit) => {
      try {
        return decompress(algorithm, bytes, limit).length <= limit;
      } catch (e) {
        return e instanceof DecompressError || e instanceof OutputLimitError;
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('damaged kernel streams: only typed errors, output never past the limit', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(...VECTORS),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.nat(TEXT.length * 2),
      ([file, algorithm], flips, limit) => {
        const v = vector(file).slice();
        for (const [at, x] of flips) v[at % v.length] = (v[at % v.length] ?? 0) ^ x;
        try {
          return decompress(algorithm, v, limit).length <= limit;
        } catch (e) {
          return e instanceof DecompressError || e instanceof OutputLimitError;
        }
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test("work buffer: the reading kernel's bound per algorithm and version (lzo +2 from 5.1, zstd 1.3 bound before 5.16)", (t) => {
  const v = (major: number, minor: number) => ({ inflate66: false, ...workBufferRules({ major, minor, sublevel: 0, release: `${major}.${minor}` }) });
  // bufsize 14580: a 16 KiB record with ECC 16 (the capture c61-lzo-ecc16-edge). 6.1's
  // include/linux/lzo.h: lzo1x_worst_compress(x) = x + x/16 + 64 + 3 + 2 = 15560; that capture's
  // panic record decompresses to 15559 bytes, one more than the bound without the "+ 2".
  t.is(workBufferSize('lzo', 14580, v(6, 1)), 15560);
  t.is(workBufferSize('lzo', 14580, v(5, 0)), 15558);
  t.is(workBufferSize('lzo', 14580, { inflate66: false }), 15560, 'no version: the larger bound');
  // zstd: 6.1's ZSTD_compressBound (zstd 1.4+) and 5.15's FSE_compressBound(n) + 12 = 512 + n + n/128 + 12.
  t.is(workBufferSize('zstd', 14580, v(6, 1)), 14580 + 56 + 56);
  t.is(workBufferSize('zstd', 14580, v(5, 15)), 512 + 14580 + 113 + 12);
  t.is(workBufferSize('zstd', 14580, { inflate66: false }), 512 + 14580 + 113 + 12, 'no version: the larger bound');
  t.is(workBufferSize('lz4', 14580, v(6, 1)), 14580 + 57 + 16);
  t.is(workBufferSize('842', 14580, v(6, 1)), 14580);
  t.is(workBufferSize('deflate', 14580, v(6, 1)), Math.floor((14580 * 100) / 60));
  t.is(workBufferSize('lzo', 14580, { inflate66: true }), 3 * 14580, '6.6+: 3 x bufsize whatever the name');
});
