// Page decoders against independent encoders where this machine has them (zstd CLI), and a
// fuzz contract: on any input, only typed errors escape and output never exceeds the limit.
// Real lzo/snappy/zstd pages from liblzo2/libsnappy/libzstd are decoded in kdump.test.ts.
import test from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { isRamoopsError, lzo1xDecompress, snappyDecompress } from '../../../src/index.js';
import { decodePage, unzlibPage, unzstdPage } from '../../../src/dump/codecs/page.js';
import { zlibSync } from 'fflate';

const page = (seed: number): Uint8Array => {
  const line = new TextEncoder().encode(`page ${seed}: some compressible kernel memory ${'x'.repeat(seed % 50)}\n`);
  const p = new Uint8Array(4096);
  for (let i = 0; i < p.length; i++) p[i] = line[i % line.length] ?? 0;
  return p;
};

const decoders = {
  lzo: lzo1xDecompress,
  snappy: snappyDecompress,
  zlib: unzlibPage,
  zstd: unzstdPage,
} as const;

for (const [name, decode] of Object.entries(decoders)) {
  test(`${name}: arbitrary bytes give a page or a typed error, never more than the limit`, (t) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (input) => {
        try {
          const out = decode(input, 4096);
          return out.length <= 4096;
        } catch (e) {
          return isRamoopsError(e);
        }
      }),
      { numRuns: 3000 },
    );
    t.pass();
  });
}

test('zlib: a page compressed by zlib (fflate) round-trips; the wrong Adler-32 is refused', (t) => {
  const p = page(7);
  const z = zlibSync(p);
  t.deepEqual(decodePage('zlib', z, 4096), p);
  const bad = z.slice();
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
  t.throws(() => decodePage('zlib', bad, 4096), { message: /Adler-32/ });
});

test('a page that decodes to the wrong length is refused', (t) => {
  t.throws(() => decodePage('zlib', zlibSync(new Uint8Array(100)), 4096), { message: /100 bytes, expected 4096/ });
  t.throws(() => decodePage('zlib', zlibSync(new Uint8Array(5000)), 4096), { message: /limit/ });
});

(spawnSync('zstd', ['--version']).status === 0 ? test : test.skip)('zstd: frames from the zstd CLI (levels 1, 3, 19) decode', (t) => {
  for (const level of [1, 3, 19]) {
    const p = page(level);
    const r = spawnSync('zstd', [`-${level}`, '-c', '-q'], { input: p });
    t.is(r.status, 0);
    t.deepEqual(decodePage('zstd', new Uint8Array(r.stdout), 4096), p, `level ${level}`);
  }
});

test('snappy: hand-made block with a literal, a 1-byte-offset copy and an overlapping copy', (t) => {
  // Varint 20, literal "abcd" (tag (4-1)<<2), copy len 8 offset 4 (kind 1: ((8-4)<<2)|1, offset byte 4),
  // copy len 8 offset 1 (kind 2: ((8-1)<<2)|2, le16 1).
  const block = new Uint8Array([20, 3 << 2, 0x61, 0x62, 0x63, 0x64, (4 << 2) | 1, 4, (7 << 2) | 2, 1, 0]);
  t.is(new TextDecoder().decode(snappyDecompress(block, 4096)), 'abcdabcdabcddddddddd');
  t.throws(() => snappyDecompress(new Uint8Array([5, 0, 0x61]), 4096), { message: /declared 5|literal/ });
  t.throws(() => snappyDecompress(new Uint8Array([4, (3 << 2) | 2, 9, 0]), 4096), { message: /offset 9/ });
});

test('lzo: hand-made stream: initial literal run, M2 match, end marker', (t) => {
  // First byte 17+4: 4 literals "abcd"; M2 len 3 dist 4: ((3-1)<<5)|((4-1&7)<<2)|0, then (4-1)>>3;
  // end marker 0x11 0 0.
  const block = new Uint8Array([21, 0x61, 0x62, 0x63, 0x64, (2 << 5) | (3 << 2), 0, 0x11, 0, 0]);
  t.is(new TextDecoder().decode(lzo1xDecompress(block, 4096)), 'abcdabc');
  t.throws(() => lzo1xDecompress(block.subarray(0, 7), 4096), { message: /input overrun/ });
});
