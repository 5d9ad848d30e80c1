// A QEMU x86 guest's RAM backend file (memory-backend-file) read by guest-physical address.
//
// QEMU allocates one RAM block (the memory-backend-file) and maps two aliases of it into the
// guest's physical address space (QEMU 7.2 hw/i386/pc.c pc_memory_init):
//   ram-below-4g: file [0, lowmem)             at guest-physical [0, lowmem)
//   ram-above-4g: file [lowmem, ram_size)      at guest-physical [4 GiB, 4 GiB + ram_size - lowmem)
// lowmem is decided per machine type (hw/i386/pc_q35.c pc_q35_init, hw/i386/pc_piix.c pc_init1),
// see lowMemorySize. Not modelled: the max-ram-below-4g machine option (the harness never sets
// it) and QEMU 7.2's AMD 1 TiB hole relocation (only for guests whose RAM reaches 1 TiB).
// The map was verified against QEMU's own pmemsave on q35 and pc, below and above 4 GiB
// (test/harness/qemu/process.test.ts).
//
// The arm64 `virt` machine (QEMU 7.2 hw/arm/virt.c, memmap VIRT_MEM) has one RAM range from
// 1 GiB up, no holes: file offset = physical address - 0x40000000.
import { AddressNotCapturedError, ConfigError, hex } from '../errors.js';
import type { ByteSource, PhysicalMemory, PhysRange } from './memory.js';
import { storedSearch } from './search.js';

/** The machine types whose RAM map we know: x86 q35 and pc, arm64 virt. */
export type QemuMachine = 'q35' | 'pc' | 'virt';

/** Where the arm64 virt machine's RAM starts (the RAM file's byte 0). */
export const VIRT_RAM_BASE = 0x4000_0000;

const FOUR_GIB = 0x1_0000_0000;

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
export function lowMemorySize(machine: QemuMachine, ramBytes: number): number {
  checkSize(ramBytes);
  // virt has no split below 4 GiB: its one range simply runs on past it.
  if (machine === 'virt') return ramBytes;
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
export function ramRanges(machine: QemuMachine, ramBytes: number): readonly RamRange[] {
  if (machine === 'virt') {
    checkSize(ramBytes);
    return [{ phys: VIRT_RAM_BASE, size: ramBytes, fileOffset: 0 }];
  }
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
 * The RAM file offset of guest-physical [phys, phys + len), or undefined when any byte of it is
 * not plain RAM (MMIO hole, legacy hole, beyond RAM) or it crosses from one RAM range into
 * another (then the bytes are not contiguous in the file).
 */
export function ramFileOffset(machine: QemuMachine, ramBytes: number, phys: number, len: number): number | undefined {
  if (!Number.isSafeInteger(phys) || phys < 0 || !Number.isSafeInteger(len) || len <= 0) return undefined;
  for (const r of ramRanges(machine, ramBytes)) {
    if (phys >= r.phys && phys + len <= r.phys + r.size) return r.fileOffset + (phys - r.phys);
  }
  return undefined;
}

/**
 * Guest-physical memory of a QEMU guest from its RAM backend file. `source.size` is
 * normally `ramBytes`; a shorter file (a copy cut short) reads as not captured past its end.
 */
export function qemuRamMemory(source: ByteSource, machine: QemuMachine, ramBytes: number, description = 'QEMU RAM file'): PhysicalMemory {
  const map = ramRanges(machine, ramBytes);
  // Clip each range to the bytes the file really has, so ranges() never promises absent bytes.
  const present: RamRange[] = [];
  for (const r of map) {
    const size = Math.min(r.size, Math.max(0, source.size - r.fileOffset));
    if (size > 0) present.push({ ...r, size });
  }
  const ranges: readonly PhysRange[] = present.map((r) => ({ start: r.phys, end: r.phys + r.size }));
  const where = map.map((r) => `${hex(r.phys)}..${hex(r.phys + r.size)}`).join(', ');
  const mem: PhysicalMemory = {
    description: `${description} (${machine}, ${hex(ramBytes)} bytes of RAM)`,
    ranges: () => ranges,
    read(addr, len) {
      if (len === 0) return new Uint8Array(0);
      const out = new Uint8Array(len);
      let done = 0;
      while (done < len) {
        const a = addr + done;
        const r = present.find((x) => a >= x.phys && a < x.phys + x.size);
        if (r === undefined) {
          const full = map.find((x) => a >= x.phys && a < x.phys + x.size);
          const why =
            full !== undefined
              ? `the RAM file has ${hex(source.size)} bytes and this RAM would be at file offset ${hex(full.fileOffset + (a - full.phys))}`
              : machine !== 'virt' && a >= LEGACY_HOLE.start && a < LEGACY_HOLE.end
                ? `${hex(a)} is in the legacy VGA/ROM hole ${hex(LEGACY_HOLE.start)}..${hex(LEGACY_HOLE.end)}, which the guest does not see as RAM`
                : `${hex(a)} is not RAM of a ${machine} guest with ${hex(ramBytes)} bytes (RAM: ${where})`;
          throw new AddressNotCapturedError(addr, len, why);
        }
        const n = Math.min(len - done, r.phys + r.size - a);
        const bytes = source.read(r.fileOffset + (a - r.phys), n);
        if (bytes.length < n) {
          throw new AddressNotCapturedError(addr, len, `the RAM file ended at offset ${hex(r.fileOffset + (a - r.phys) + bytes.length)}`);
        }
        if (done === 0 && n === len) return bytes;
        out.set(bytes, done);
        done += n;
      }
      return out;
    },
  };
  // The RAM file is plain bytes: a source that can search natively searches it.
  const findAll = storedSearch(
    source,
    present.map((r) => ({ phys: r.phys, fileOffset: r.fileOffset, size: r.size })),
    mem,
  );
  return findAll === undefined ? mem : { ...mem, findAll };
}

function checkSize(ramBytes: number): void {
  if (!Number.isSafeInteger(ramBytes) || ramBytes <= 0) {
    throw new ConfigError('ramSize', `RAM size must be a positive integer number of bytes, got ${ramBytes}`);
  }
}
