// The x86 boot header of a real Debian bzImage (its first 21212 bytes: setup + payload magic).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressorOf, parseBzImage } from '../../../src/kernel/bzimage.js';
import { KernelImageError } from '../../../src/errors.js';
import { repoRoot } from '../../helpers/paths.js';

const head = readFileSync(join(repoRoot(), 'test', 'core', 'kernel', 'fixtures', 'vmlinuz-6.1.0-57-amd64.head'));

test('Debian 6.1 bzImage: 39 setup sectors, xz payload at 21196', (t) => {
  const h = parseBzImage(head);
  t.is(h.setupSects, 39);
  t.is(h.payloadStart, 21196);
  t.is(h.compressor, 'xz');
  t.true(h.version >= 0x020f);
  t.true(h.payloadLength > 1_000_000);
});

test('each compressor magic is recognised; unknown bytes are not', (t) => {
  t.is(compressorOf(Uint8Array.of(0x1f, 0x8b, 8)), 'gzip');
  t.is(compressorOf(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd)), 'zstd');
  t.is(compressorOf(Uint8Array.of(0x02, 0x21, 0x4c, 0x18)), 'lz4');
  t.is(compressorOf(Uint8Array.of(0x89, 0x4c, 0x5a, 0x4f)), 'lzo');
  t.is(compressorOf(Uint8Array.of(0x42, 0x5a, 0x68)), 'bzip2');
  t.is(compressorOf(Uint8Array.of(0x5d, 0, 0)), 'lzma');
  t.is(compressorOf(Uint8Array.of(0, 1, 2, 3)), undefined);
});

test('bad input is a KernelImageError naming what is wrong', (t) => {
  t.regex(t.throws(() => parseBzImage(head.subarray(0, 100)), { instanceOf: KernelImageError }).message, /too short/);
  const noMagic = Uint8Array.from(head);
  noMagic[0x202] = 0;
  t.regex(t.throws(() => parseBzImage(noMagic), { instanceOf: KernelImageError }).message, /HdrS/);
});
