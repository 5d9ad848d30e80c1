// The RAM map rules of QEMU 7.2 (hw/i386/pc_q35.c, pc_piix.c), checked at and around every
// threshold; process.test.ts cross-checks the map against a real QEMU with pmemsave.
import test from 'ava';
import { HarnessError } from '../../../harness/errors.js';
import { lowMemorySize, physToFileOffset, ramRanges } from '../../../harness/qemu/machines.js';
import type { MachineType } from '../../../harness/qemu/args.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const lowmem = test.macro((t, machine: MachineType, ram: number, expected: number) => {
  t.is(lowMemorySize(machine, ram), expected);
});

test('q35 512M: all low', lowmem, 'q35', 512 * MiB, 512 * MiB);
test('q35 just under 0xb0000000: all low', lowmem, 'q35', 0xb0000000 - MiB, 0xb0000000 - MiB);
test('q35 0xb0000000: split at 2 GiB', lowmem, 'q35', 0xb0000000, 0x80000000);
test('q35 5G: split at 2 GiB', lowmem, 'q35', 5 * GiB, 2 * GiB);
test('pc 3G: all low', lowmem, 'pc', 3 * GiB, 3 * GiB);
test('pc just under 3.5G: all low', lowmem, 'pc', 0xe0000000 - MiB, 0xe0000000 - MiB);
test('pc 3.5G: split at 3 GiB (gigabyte_align)', lowmem, 'pc', 0xe0000000, 0xc0000000);
test('pc 4G: 3072M low, like QEMU comment example', lowmem, 'pc', 4 * GiB, 3 * GiB);

test('ranges: q35 5G has low RAM around the legacy hole and 3 GiB at 4 GiB', (t) => {
  t.deepEqual(ramRanges('q35', 5 * GiB), [
    { phys: 0, size: 0xa0000, fileOffset: 0 },
    { phys: 0x100000, size: 2 * GiB - 0x100000, fileOffset: 0x100000 },
    { phys: 4 * GiB, size: 3 * GiB, fileOffset: 2 * GiB },
  ]);
});

test('low memory: file offset is the physical address', (t) => {
  t.is(physToFileOffset('q35', 512 * MiB, 0x8000000, 0x100000), 0x8000000);
  t.is(physToFileOffset('pc', 512 * MiB, 0x1000, 16), 0x1000);
});

test('high memory: offset continues after low memory', (t) => {
  t.is(physToFileOffset('q35', 5 * GiB, 4 * GiB, 4096), 2 * GiB);
  t.is(physToFileOffset('q35', 5 * GiB, 4 * GiB + 0x1234, 1), 2 * GiB + 0x1234);
  t.is(physToFileOffset('pc', 4 * GiB, 4 * GiB + 5, 10), 3 * GiB + 5);
});

const notRam = test.macro((t, machine: MachineType, ram: number, phys: number, len: number) => {
  const e = t.throws(() => physToFileOffset(machine, ram, phys, len), { instanceOf: HarnessError });
  t.is(e?.stage, 'capture');
});

test('beyond RAM', notRam, 'q35', 512 * MiB, 512 * MiB, 1);
test('crossing the end of RAM', notRam, 'q35', 512 * MiB, 512 * MiB - 4, 8);
test('the PCI hole below 4 GiB', notRam, 'q35', 5 * GiB, 3 * GiB, 16);
test('crossing from low RAM into the hole', notRam, 'q35', 5 * GiB, 2 * GiB - 8, 16);
test('the legacy VGA/BIOS hole', notRam, 'q35', 512 * MiB, 0xb8000, 2);
test('past high RAM', notRam, 'q35', 5 * GiB, 7 * GiB, 1);
test('zero length', notRam, 'q35', 512 * MiB, 0, 0);
