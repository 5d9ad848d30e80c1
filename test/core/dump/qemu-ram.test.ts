// The QEMU RAM file reader: the q35/pc RAM map (verified against QEMU's pmemsave in
// test/harness/qemu/process.test.ts) applied to reads, on sparse synthetic sources so multi-GiB
// guests cost nothing. Real RAM files are read in test/integration/dump-formats.test.ts.
import test from 'ava';
import { AddressNotCapturedError, ConfigError, openDump, qemuRamMemory, type ByteSource } from '../../../src/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A file of `size` bytes whose byte at offset o is (o / 4096) & 0xff, made on demand. */
function fakeRamFile(size: number): ByteSource {
  return {
    size,
    read(pos, len) {
      const n = Math.max(0, Math.min(len, size - pos));
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor((pos + i) / 4096) & 0xff;
      return b;
    },
  };
}
const byteAtOffset = (o: number): number => Math.floor(o / 4096) & 0xff;

test('q35 with 5 GiB: above 4 GiB is file offset 2 GiB on; low RAM is the file offset', (t) => {
  const mem = qemuRamMemory(fakeRamFile(5 * GiB), 'q35', 5 * GiB);
  t.deepEqual(mem.ranges(), [
    { start: 0, end: 0xa0000 },
    { start: 0x100000, end: 2 * GiB },
    { start: 4 * GiB, end: 7 * GiB },
  ]);
  t.is(mem.read(4 * GiB + 0x5000, 1)[0], byteAtOffset(2 * GiB + 0x5000));
  t.is(mem.read(0x8000000, 1)[0], byteAtOffset(0x8000000));
  t.is(mem.read(7 * GiB - 1, 1)[0], byteAtOffset(5 * GiB - 1));
});

test('pc with 4 GiB splits at 3 GiB', (t) => {
  const mem = qemuRamMemory(fakeRamFile(4 * GiB), 'pc', 4 * GiB);
  t.is(mem.read(4 * GiB, 1)[0], byteAtOffset(3 * GiB));
  t.throws(() => mem.read(3 * GiB, 1), { instanceOf: AddressNotCapturedError });
});

const notCaptured = test.macro((t, addr: number, len: number, why: RegExp) => {
  const mem = qemuRamMemory(fakeRamFile(5 * GiB), 'q35', 5 * GiB);
  const e = t.throws(() => mem.read(addr, len), { instanceOf: AddressNotCapturedError });
  t.is(e?.address, addr);
  t.regex(e?.message ?? '', why);
});

test('the PCI hole below 4 GiB', notCaptured, 3 * GiB, 16, /is not RAM of a q35 guest/);
test('the legacy VGA/ROM hole', notCaptured, 0xb8000, 2, /legacy VGA\/ROM hole/);
test('crossing from low RAM into the hole', notCaptured, 2 * GiB - 8, 16, /0x80000000 is not RAM/);
test('past high RAM', notCaptured, 7 * GiB, 1, /not RAM/);

test('a RAM file shorter than the RAM size: ranges end with the file, reads past it name the offset', (t) => {
  const mem = qemuRamMemory(fakeRamFile(2 * GiB + 16 * MiB), 'q35', 5 * GiB);
  t.deepEqual(mem.ranges()[2], { start: 4 * GiB, end: 4 * GiB + 16 * MiB });
  const e = t.throws(() => mem.read(4 * GiB + 16 * MiB, 8), { instanceOf: AddressNotCapturedError });
  t.regex(e?.message ?? '', /file offset 0x81000000/);
});

test('openDump: qemu-ram only when asked; raw otherwise (equal below the low-memory limit)', (t) => {
  const src = fakeRamFile(512 * MiB);
  const raw = openDump(src);
  const ram = openDump(src, { format: 'qemu-ram', machine: 'q35', ramSize: 512 * MiB });
  t.deepEqual(raw.read(0x8000000, 64), ram.read(0x8000000, 64));
  t.deepEqual(raw.ranges(), [{ start: 0, end: 512 * MiB }]);
  t.is(ram.ranges().length, 2);
  t.throws(() => openDump(src, { format: 'qemu-ram', ramSize: 0 }), { instanceOf: ConfigError });
  t.throws(() => openDump(src, { base: -1 }), { instanceOf: ConfigError });
});
