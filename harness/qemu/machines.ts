// Where each guest-physical address of a QEMU x86 machine lives in its RAM backend file.
// The RAM map itself is pure and lives in src/dump/qemu-ram.ts (the offline QEMU RAM reader
// uses it too); this module keeps the harness's API: HarnessError('capture') for bad input.

import { HarnessError } from '../errors.js';
import {
  LEGACY_HOLE as CORE_LEGACY_HOLE,
  lowMemorySize as coreLowMemorySize,
  ramFileOffset,
  ramRanges as coreRamRanges,
  type RamRange as CoreRamRange,
} from '../../src/index.js';
import type { MachineType } from './args.js';

/** The legacy VGA window and BIOS/option-ROM area the guest does not see as RAM (see src/dump/qemu-ram.ts). */
export const LEGACY_HOLE = CORE_LEGACY_HOLE;

/** One guest-physical range backed by the RAM file: [phys, phys + size) is file [fileOffset, ...). */
export type RamRange = CoreRamRange;

/** How much RAM QEMU puts below 4 GiB for a machine and RAM size (the rest starts at 4 GiB). */
export function lowMemorySize(machine: MachineType, ramBytes: number): number {
  checkSize(ramBytes);
  return coreLowMemorySize(machine, ramBytes);
}

/** The RAM file's ranges in guest-physical order, without the legacy VGA/ROM hole. */
export function ramRanges(machine: MachineType, ramBytes: number): readonly RamRange[] {
  checkSize(ramBytes);
  return coreRamRanges(machine, ramBytes);
}

/**
 * The RAM file offset of guest-physical [phys, phys + len). Throws HarnessError('capture') when
 * any byte of the range is not plain RAM (MMIO hole, legacy hole, beyond RAM) or the range
 * crosses from one RAM range into another (then the bytes are not contiguous in the file).
 */
export function physToFileOffset(machine: MachineType, ramBytes: number, phys: number, len: number): number {
  checkSize(ramBytes);
  if (!Number.isSafeInteger(phys) || phys < 0 || !Number.isSafeInteger(len) || len <= 0) {
    throw new HarnessError('capture', `bad physical range: address ${phys}, length ${len}`);
  }
  const offset = ramFileOffset(machine, ramBytes, phys, len);
  if (offset !== undefined) return offset;
  const where = coreRamRanges(machine, ramBytes)
    .map((r) => `${hex(r.phys)}..${hex(r.phys + r.size)}`)
    .join(', ');
  throw new HarnessError(
    'capture',
    `physical range ${hex(phys)}..${hex(phys + len)} is not inside one RAM range of a ${machine} ` + `guest with ${hex(ramBytes)} bytes of RAM (RAM: ${where})`,
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
