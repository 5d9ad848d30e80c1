// The arm64 virt machine's RAM file: one range from 0x40000000 (the file's byte 0), no holes.
// Verified against QEMU's own pmemsave by every arm64 cycle (test/integration/arm64-cycle.test.ts).
import test from 'ava';
import { AddressNotCapturedError, lowMemorySize, qemuRamMemory, ramFileOffset, ramRanges, VIRT_RAM_BASE, type ByteSource } from '../../../src/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A file whose byte at offset o is (o / 4096) & 0xff. */
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

test('virt: RAM is one range at 0x40000000, file offset = phys - 0x40000000, also past 4 GiB', (t) => {
  t.is(VIRT_RAM_BASE, 0x4000_0000);
  t.deepEqual(ramRanges('virt', 512 * MiB), [{ phys: 0x4000_0000, size: 512 * MiB, fileOffset: 0 }]);
  t.deepEqual(ramRanges('virt', 6 * GiB), [{ phys: 0x4000_0000, size: 6 * GiB, fileOffset: 0 }]);
  t.is(lowMemorySize('virt', 6 * GiB), 6 * GiB);
  t.is(ramFileOffset('virt', 512 * MiB, 0x5000_0000, 0x10_0000), 0x1000_0000);
  t.is(ramFileOffset('virt', 6 * GiB, 5 * GiB, 4096), 4 * GiB);
});

test('virt: below RAM (flash, MMIO) and past its end are not RAM; nothing there is an x86 legacy hole', (t) => {
  t.is(ramFileOffset('virt', 512 * MiB, 0xa0000, 16), undefined);
  t.is(ramFileOffset('virt', 512 * MiB, 0x3fff_f000, 0x2000), undefined);
  t.is(ramFileOffset('virt', 512 * MiB, 0x5fff_f000, 0x2000), undefined);
  const mem = qemuRamMemory(fakeRamFile(512 * MiB), 'virt', 512 * MiB);
  const e = t.throws(() => mem.read(0xa0000, 16), { instanceOf: AddressNotCapturedError });
  t.notRegex(e?.message ?? '', /legacy/);
  t.regex(e?.message ?? '', /not RAM of a virt guest/);
});

test('virt: reads come from file offset phys - 0x40000000', (t) => {
  const mem = qemuRamMemory(fakeRamFile(512 * MiB), 'virt', 512 * MiB);
  t.deepEqual(mem.ranges(), [{ start: 0x4000_0000, end: 0x6000_0000 }]);
  const b = mem.read(0x5000_0000 + 4096 * 3, 8);
  t.deepEqual([...b], new Array<number>(8).fill(((0x1000_0000 + 4096 * 3) / 4096) & 0xff));
});
