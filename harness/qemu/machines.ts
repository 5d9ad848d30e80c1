// Pure: where each guest-physical address of a QEMU x86 machine lives in its RAM backend file.
//
// QEMU allocates one RAM block (our memory-backend-file) and maps two aliases of it into the
// guest's physical address space (hw/i386/pc.c pc_memory_init, QEMU 7.2):
//   ram-below-4g: file [0, lowmem)             at guest-physical [0, lowmem)
//   ram-above-4g: file [lowmem, ram_size)      at guest-physical [4 GiB, 4 GiB + ram_size - lowmem)
// lowmem is decided per machine type (hw/i386/pc_q35.c pc_q35_init, hw/i386/pc_piix.c pc_init1),
// see lowMemorySize. Not modelled: the max-ram-below-4g machine option (we never set it) and
// QEMU 7.2's AMD 1 TiB hole relocation (only for guests whose RAM reaches 1 TiB).

import { HarnessError } from '../errors.js';
import type { MachineType } from './args.js';

const GiB = 1024 * 1024 * 1024;
const FOUR_GIB = 4 * GiB;

/**
 * The legacy VGA window and the BIOS/option-ROM area (0xa0000..0x100000). The file holds bytes
 * there, but the guest sees VGA MMIO and PAM-controlled ROM shadows instead, so reading the
 * file would not give what the guest saw; the kernel never uses it (e820 reserved) either.
 */
export const LEGACY_HOLE = { start: 0xa0000, end: 0x100000 } as const;

/** One guest-physical range backed by the RAM file: [phys, phys + size) is file [fileOffset, ...). */
export interface RamRange {
  readonly phys: number;
  readonly size: number;
  readonly fileOffset: number;
}

/** How much RAM QEMU puts below 4 GiB for a machine and RAM size (the rest starts at 4 GiB). */
export function lowMemorySize(machine: MachineType, ramBytes: number): number {
  checkSize(ramBytes);
  let lowmem: number;
  if (machine === 'q35') {
    // Leaves room below 4 GiB for PCI MMIO and the 256 MiB MMCONFIG window; when RAM does not
    // fit under 0xb0000000 the split moves to 2 GiB so 1 GiB-aligned guest pages stay aligned
    // in the host mapping.
    lowmem = ramBytes >= 0xb0000000 ? 0x80000000 : 0xb0000000;
  } else {
    // pc's traditional 3.5 GiB limit (max-ram-below-4g default); when RAM reaches it, current
    // machine types (gigabyte_align) split at 3 GiB instead.
    lowmem = 0xe0000000;
    if (ramBytes >= 0xe0000000) lowmem = 0xc0000000;
  }
  return Math.min(ramBytes, lowmem);
}

/** The RAM file's ranges in guest-physical order, without the legacy VGA/ROM hole. */
export function ramRanges(machine: MachineType, ramBytes: number): readonly RamRange[] {
  const low = lowMemorySize(machine, ramBytes);
  const ranges: RamRange[] = [];
  ranges.push({ phys: 0, size: Math.min(low, LEGACY_HOLE.start), fileOffset: 0 });
  if (low > LEGACY_HOLE.end) {
    ranges.push({ phys: LEGACY_HOLE.end, size: low - LEGACY_HOLE.end, fileOffset: LEGACY_HOLE.end });
  }
  if (ramBytes > low) {
    ranges.push({ phys: FOUR_GIB, size: ramBytes - low, fileOffset: low });
  }
  return ranges;
}

/**
 * The RAM file offset of guest-physical [phys, phys + len). Throws HarnessError('capture') when
 * any byte of the range is not plain RAM (MMIO hole, legacy hole, beyond RAM) or the range
 * crosses from one RAM range into another (then the bytes are not contiguous in the file).
 */
export function physToFileOffset(machine: MachineType, ramBytes: number, phys: number, len: number): number {
  if (!Number.isSafeInteger(phys) || phys < 0 || !Number.isSafeInteger(len) || len <= 0) {
    throw new HarnessError('capture', `bad physical range: address ${phys}, length ${len}`);
  }
  const ranges = ramRanges(machine, ramBytes);
  for (const r of ranges) {
    if (phys >= r.phys && phys + len <= r.phys + r.size) return r.fileOffset + (phys - r.phys);
  }
  const where = ranges.map((r) => `${hex(r.phys)}..${hex(r.phys + r.size)}`).join(', ');
  throw new HarnessError(
    'capture',
    `physical range ${hex(phys)}..${hex(phys + len)} is not inside one RAM range of a ${machine} ` +
      `guest with ${hex(ramBytes)} bytes of RAM (RAM: ${where})`,
  );
}

function checkSize(ramBytes: number): void {
  if (!Number.isSafeInteger(ramBytes) || ramBytes <= 0) {
    throw new HarnessError('capture', `RAM size must be a positive integer number of bytes, got ${ramBytes}`);
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}
