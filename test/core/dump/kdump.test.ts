// The kdump reader on small real files (fixtures/README.md): QEMU's own kdump-zlib output
// (flattened, as QEMU 7.2 writes it), makedumpfile -R's rearrangement of it, and its pages
// re-encoded by liblzo2, libsnappy and libzstd. A real ramoops capture was written into the
// guest's RAM: extraction through each must give that capture's /sys/fs/pstore files.
// Errors are made by cutting and editing copies of the real files.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AddressNotCapturedError,
  DecompressError,
  DumpFormatError,
  TruncatedError,
  configFromCmdline,
  extract,
  openDump,
  openKdump,
  parseSystemMap,
  unflatten,
  type ByteSource,
  type KdumpMemory,
} from '../../../src/index.js';
import { loadFixtures } from '../../helpers/fixtures.js';
import { repoRoot } from '../../helpers/paths.js';
import { FIXTURE_RAM, NOISE, REGION, TEXT, noisePage, textPage } from './fixtures/contents.js';

const dir = join(repoRoot(), 'test', 'core', 'dump', 'fixtures');
const load = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
const source = (b: Uint8Array): ByteSource => ({ size: b.length, read: (p, n) => b.subarray(p, p + n) });

const capture = loadFixtures().find((f) => f.name === 'c61-full-deflate');
const FILES = ['qemu-zlib.flat', 'qemu-zlib.kdump', 'reencoded-lzo.kdump', 'reencoded-snappy.kdump', 'reencoded-zstd.kdump'] as const;

for (const name of FILES) {
  test(`${name}: the planted ramoops capture extracts to the guest's pstore files`, (t) => {
    if (!capture) return t.fail('fixture c61-full-deflate missing');
    const config = { ...configFromCmdline(capture.cmdline, capture.release), memAddress: REGION };
    const symbols = capture.systemMap ? parseSystemMap(capture.systemMap) : undefined;
    const x = extract(openDump(source(load(name)), { name }), config, symbols ? { symbols } : {});
    t.deepEqual(x.files.map((f) => f.name).sort(), capture.expected.map((e) => e.name).sort());
    for (const e of capture.expected) {
      const f = x.files.find((ff) => ff.name === e.name);
      t.true(!!f && Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), `${e.name}: bytes`);
    }
    t.true(Buffer.from(openDump(source(load(name))).read(REGION, capture.region.length)).equals(Buffer.from(capture.region)));
  });

  test(`${name}: known pages, the zero page, ranges, QEMU's notes`, (t) => {
    const mem = openDump(source(load(name))) as KdumpMemory;
    for (let i = 0; i < TEXT.pages; i++) t.true(Buffer.from(mem.read(TEXT.address + i * 4096, 4096)).equals(textPage(i)), `text page ${i}`);
    for (let i = 0; i < NOISE.pages; i++) t.true(Buffer.from(mem.read(NOISE.address + i * 4096, 4096)).equals(noisePage(i)), `noise page ${i}`);
    // Unaligned, across a text page and a noise page boundary.
    const across = Buffer.from(mem.read(TEXT.address + TEXT.pages * 4096 - 10, 10));
    t.true(across.equals(textPage(TEXT.pages - 1).subarray(4086)));
    t.deepEqual(mem.read(0x2000000, 64), new Uint8Array(64));
    // QEMU's guest_phys_blocks: all RAM, and the BIOS ROM just below 4 GiB.
    t.deepEqual(mem.ranges(), [
      { start: 0, end: FIXTURE_RAM },
      { start: 0xfffc0000, end: 0x100000000 },
    ]);
    t.is(mem.kdump.blockSize, 4096);
    t.is(mem.kdump.headerVersion, 6);
    t.is(mem.kdump.utsname.machine, 'x86_64');
    t.is(mem.kdump.bits, 64);
    t.true(mem.kdump.littleEndian);
    t.deepEqual([...new Set(mem.notes().map((n) => n.name))], ['CORE', 'QEMU']);
    t.is(mem.vmcoreinfo(), undefined, 'the guest never ran, so it wrote no VMCOREINFO');
  });
}

test('every file gives the same bytes for all RAM', (t) => {
  const mems = FILES.map((n) => openDump(source(load(n))));
  const [first, ...rest] = mems;
  if (!first) return t.fail();
  for (let at = 0; at < FIXTURE_RAM; at += 1 << 20) {
    const want = Buffer.from(first.read(at, 1 << 20));
    for (const [i, m] of rest.entries()) t.true(Buffer.from(m.read(at, 1 << 20)).equals(want), `${FILES[i + 1]} at 0x${at.toString(16)}`);
  }
});

test('a pfn that was never RAM, and one past the last pfn: AddressNotCaptured naming the address', (t) => {
  const mem = openKdump(source(load('qemu-zlib.kdump')));
  const hole = t.throws(() => mem.read(0x4000000, 8), { instanceOf: AddressNotCapturedError });
  t.is(hole?.address, 0x4000000);
  t.regex(hole?.message ?? '', /0x4000000.*not RAM/);
  const past = t.throws(() => mem.read(0x100000000, 8), { instanceOf: AddressNotCapturedError });
  t.regex(past?.message ?? '', /0x100000000.*beyond the dump's last pfn/);
  // A read that starts in RAM and runs out of it names where it starts and where RAM stops.
  const edge = t.throws(() => mem.read(FIXTURE_RAM - 8, 16), { instanceOf: AddressNotCapturedError });
  t.is(edge?.address, FIXTURE_RAM - 8);
  t.regex(edge?.message ?? '', /0x3000000/);
});

/** Offsets inside a 64-bit kdump file, from its header. */
function layout(b: Uint8Array): { bs: number; bitmap2: number; descs: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const bs = v.getUint32(428, true);
  const sub = v.getUint32(432, true);
  const bm = v.getUint32(436, true);
  return { bs, bitmap2: bs * (1 + sub) + (bm * bs) / 2, descs: bs * (1 + sub + bm) };
}

test('a page left out of the 2nd bitmap (excluded by the dump level) is AddressNotCaptured saying so', (t) => {
  const b = load('qemu-zlib.kdump').slice();
  const pfn = TEXT.address / 4096 + 3;
  const l = layout(b);
  b[l.bitmap2 + (pfn >> 3)] = (b[l.bitmap2 + (pfn >> 3)] ?? 0) & ~(1 << (pfn & 7));
  const mem = openKdump(source(b));
  const e = t.throws(() => mem.read(pfn * 4096 + 100, 8), { instanceOf: AddressNotCapturedError });
  t.is(e?.address, pfn * 4096 + 100);
  t.regex(e?.message ?? '', /was RAM but was excluded from the dump \(dump level 1\)/);
  t.false(mem.ranges().some((r) => r.start <= pfn * 4096 && r.end > pfn * 4096));
});

test('a corrupted zlib page is a DecompressError naming the pfn and file offset (Adler-32 checked)', (t) => {
  const b = load('qemu-zlib.kdump').slice();
  const l = layout(b);
  const v = new DataView(b.buffer);
  // The descriptor of TEXT page 0: pfns before it are all dumped (RAM from 0), so its index is its pfn.
  const pfn = TEXT.address / 4096;
  const offset = Number(v.getBigUint64(l.descs + pfn * 24, true));
  const size = v.getUint32(l.descs + pfn * 24 + 8, true);
  t.is(v.getUint32(l.descs + pfn * 24 + 12, true), 1, 'zlib-compressed');
  // Flip a bit in the stored Adler-32: the data still inflates, only the checksum can tell.
  b[offset + size - 1] = (b[offset + size - 1] ?? 0) ^ 1;
  const e = t.throws(() => openKdump(source(b)).read(TEXT.address, 16), { instanceOf: DecompressError });
  t.regex(e?.message ?? '', new RegExp(`pfn 0x${pfn.toString(16)}.*file offset 0x${offset.toString(16)}.*Adler-32`));
});

test('truncated headers: TruncatedError; a file cut in its page data: AddressNotCaptured naming the file offset', (t) => {
  const whole = load('qemu-zlib.kdump');
  t.is(t.throws(() => openKdump(source(whole.subarray(0, 300))), { instanceOf: TruncatedError })?.offset, 0);
  const l = layout(whole);
  const cutBitmap = t.throws(() => openKdump(source(whole.subarray(0, l.bitmap2 + 10))), { instanceOf: TruncatedError });
  t.is(cutBitmap?.offset, l.bs);
  // Cut in the descriptor table: early pages still read, later ones are named as cut.
  const cutDescs = openKdump(source(whole.subarray(0, l.descs + 100 * 24)));
  const e1 = t.throws(() => cutDescs.read(0x200000, 8), { instanceOf: AddressNotCapturedError });
  t.regex(e1?.message ?? '', /page descriptor at file offset 0x[0-9a-f]+ lies past the end of the file/);
  // Cut in the page data, inside the region's first page (data is in pfn order; RAM starts at
  // pfn 0, so a pfn's descriptor index is the pfn).
  const regionData = Number(new DataView(whole.buffer, whole.byteOffset).getBigUint64(l.descs + (REGION / 4096) * 24, true));
  const cutData = openKdump(source(whole.subarray(0, regionData + 10)));
  t.true(Buffer.from(cutData.read(TEXT.address, 4096)).equals(textPage(0)));
  const e2 = t.throws(() => cutData.read(REGION, 0x100000), { instanceOf: AddressNotCapturedError });
  t.regex(e2?.message ?? '', /data at file offset 0x[0-9a-f]+\+0x[0-9a-f]+ lies past the end of the file.*truncated dump/);
});

test('not a kdump file / bad header fields: DumpFormatError', (t) => {
  const b = load('qemu-zlib.kdump').slice();
  b[0] = 0x4b ^ 0x20;
  t.throws(() => openKdump(source(b)), { instanceOf: DumpFormatError });
  const c = load('qemu-zlib.kdump').slice();
  new DataView(c.buffer).setUint32(428, 3000, true);
  t.throws(() => openKdump(source(c)), { instanceOf: DumpFormatError });
});

test('flattened: record index, end marker, and a stream cut short still reads what it holds', (t) => {
  const flat = load('qemu-zlib.flat');
  const u = unflatten(source(flat));
  t.true(u.complete);
  t.true(u.records > 10);
  t.is(u.size, load('qemu-zlib.kdump').length, 'the described file is what makedumpfile -R rebuilt');
  t.deepEqual(u.read(0, 4096), load('qemu-zlib.kdump').subarray(0, 4096));
  const cut = unflatten(source(flat.subarray(0, flat.length - 5000)));
  t.false(cut.complete);
  const mem = openKdump(cut);
  t.true(Buffer.from(mem.read(TEXT.address, 4096)).equals(textPage(0)));
});

test('flattened header errors: type/version and a record header cut in the middle', (t) => {
  const flat = load('qemu-zlib.flat').slice();
  new DataView(flat.buffer).setBigUint64(16, 2n, false);
  t.is(t.throws(() => unflatten(source(flat)), { instanceOf: DumpFormatError })?.offset, 16);
  const good = load('qemu-zlib.flat');
  const e = t.throws(() => unflatten(source(good.subarray(0, 4096 + 8))), { instanceOf: TruncatedError });
  t.is(e?.offset, 4096);
});
