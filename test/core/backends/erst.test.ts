// The acpi-erst store reader on damaged copies of the real capture (deb61-erst-1panic): every
// record that can still be read is kept, what the kernel would skip is skipped, and each
// oddity is a warning naming the offset.
import test from 'ava';
import { BackendFormatError, extractBackend, parseKernelVersion } from '../../../src/index.js';
import { parseErstStore } from '../../../src/backends/erst.js';
import { backendFixture } from '../../helpers/backend-fixtures.js';

const fx = backendFixture('deb61-erst-1panic');
const kernel = parseKernelVersion(fx.release);
const [PART1, PART2] = ['dmesg-erst-7715799401691611137', 'dmesg-erst-7715799401691611138'];
const expected = (name: string): Buffer => Buffer.from(fx.expected.find((e) => e.name === name)?.bytes ?? []);
const copy = (): Uint8Array => fx.bytes.slice();
const read = (b: Uint8Array): ReturnType<typeof extractBackend> => extractBackend('erst', b, { kernel });
const codes = (x: ReturnType<typeof extractBackend>): string[] => x.warnings.map((w) => w.code);

test('the store header: 8 KiB slots, the map holds the two record ids in slots 1 and 2', (t) => {
  const s = parseErstStore(fx.bytes);
  if (typeof s === 'string') return t.fail(s);
  t.is(s.recordSize, 8192);
  t.is(s.storageOffset, 8192);
  t.is(s.recordCount, 2);
  t.deepEqual(s.map.slice(0, 4), [0n, 7715799401691611137n, 7715799401691611138n, 0n]);
});

test('a record whose CPER signature is smashed is skipped; the other one is kept', (t) => {
  const b = copy();
  b.set([0, 0, 0, 0], 0x2000);
  const x = read(b);
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART2],
  );
  t.true(Buffer.from(x.files[0]?.bytes ?? []).equals(expected(PART2)));
  t.deepEqual(codes(x), ['erst-bad-record']);
  t.is(x.warnings[0]?.address, 0x2000);
});

test('a record_length past its slot is skipped, not read into the next slot', (t) => {
  const b = copy();
  new DataView(b.buffer).setUint32(0x2000 + 20, 0x3000, true);
  const x = read(b);
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART2],
  );
  t.regex(x.warnings[0]?.message ?? '', /record_length 12288 runs past its 8192-byte slot/);
});

test('a broken deflate stream is kept compressed and named .enc.z, as the kernel does', (t) => {
  const b = copy();
  b.fill(0xff, 0x4000 + 200, 0x4000 + 260);
  const x = read(b);
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART1, `${PART2}.enc.z`],
  );
  const bad = x.files[1];
  t.is(bad?.compression?.ok, false);
  // The stored bytes themselves: record_length minus the 200 header bytes.
  t.is(bad?.size, new DataView(b.buffer).getUint32(0x4000 + 20, true) - 200);
  t.true(Buffer.from(bad?.bytes ?? []).equals(Buffer.from(b.subarray(0x4000 + 200, 0x4000 + 200 + (bad?.size ?? 0)))));
  t.deepEqual(codes(x), ['backend-decompress-failed']);
});

test('a cleared record (map entry 0, bytes still in the slot) is not shown, and is said', (t) => {
  const b = copy();
  const v = new DataView(b.buffer);
  v.setBigUint64(24 + 8 * 2, 0n, true);
  v.setUint32(20, 1, true);
  const x = read(b);
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART1],
  );
  t.deepEqual(codes(x), ['erst-cleared-record']);
});

test('a record another creator wrote is skipped as erst_read_record does', (t) => {
  const b = copy();
  b[0x2000 + 64] = (b[0x2000 + 64] ?? 0) ^ 0xff;
  const x = read(b);
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART2],
  );
  t.deepEqual(codes(x), ['erst-not-pstore']);
});

test('record_count 0: QEMU enumerates nothing, so the kernel shows nothing', (t) => {
  const b = copy();
  new DataView(b.buffer).setUint32(20, 0, true);
  t.deepEqual(read(b).files, []);
});

test('a damaged store header: both records are found by scanning, with a warning and a note', (t) => {
  const b = copy();
  b.fill(0x5a, 0, 24);
  const x = read(b);
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART1, PART2],
  );
  t.true(Buffer.from(x.files[0]?.bytes ?? []).equals(expected(PART1)));
  t.true(Buffer.from(x.files[1]?.bytes ?? []).equals(expected(PART2)));
  t.deepEqual(codes(x), ['erst-bad-header']);
  t.true(x.files.every((f) => f.notes.some((n) => /recovered by scanning/.test(n))));
});

test('a store cut short in the second record keeps the first', (t) => {
  const x = read(fx.bytes.slice(0, 0x4800)); // record 2 is 0xe5a bytes from 0x4000
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART1],
  );
  t.true(Buffer.from(x.files[0]?.bytes ?? []).equals(expected(PART1)));
  t.deepEqual(codes(x), ['erst-bad-header', 'erst-bad-record']);
});

test('a file that is no ERST store at all is a BackendFormatError, not an empty result', (t) => {
  const e = t.throws(() => read(new Uint8Array(0x8000).fill(0x41)));
  t.true(e instanceof BackendFormatError);
  t.regex(e?.message ?? '', /not a QEMU acpi-erst store: no ERSTSTOR magic/);
});

test('no kernel version: current kernels decompress into 3 x bufsize, enough for both records', (t) => {
  const x = extractBackend('erst', fx.bytes);
  t.deepEqual(
    x.files.map((f) => f.name),
    [PART1, PART2],
  );
  t.true(x.decisions.some((d) => /no kernel version/.test(d)));
});
