// What a QEMU guest's physical memory looks like, for the RAM and boot-image rules: the RAM
// ranges of q35 (x86) and virt (arm64), and where QEMU's direct kernel boot (-kernel/-initrd)
// writes the kernel, initrd and DTB on every reset. harness/qemu/machines.ts is the harness's
// own (file-offset) view of the x86 map; a test keeps the two in agreement.
import type { Arch } from './types.js';

/** A physical address range [start, start + size). */
export interface PhysRange {
  readonly start: number;
  readonly size: number;
}

/** A range QEMU writes at every reset, and what goes there. */
export interface BootWindow extends PhysRange {
  readonly kind: 'kernel' | 'initrd' | 'dtb';
  readonly what: string;
}

const MiB = 1024 * 1024;
const FOUR_GIB = 4 * 1024 * MiB;
/** arm64 virt: RAM starts at 1 GiB (hw/arm/virt.c memmap VIRT_MEM). */
export const ARM64_VIRT_RAM_BASE = 0x40000000;
/** An initrd size to assume when none is given: generous, so a collision is not missed. */
export const ASSUMED_INITRD_SIZE = 64 * MiB;

/** Usable RAM of a QEMU guest: q35 below/above 4 GiB minus the legacy VGA/BIOS hole, or virt from 1 GiB. */
export function qemuRamMap(arch: Arch, ramSize: number): readonly PhysRange[] {
  if (arch === 'arm64') return [{ start: ARM64_VIRT_RAM_BASE, size: ramSize }];
  // q35 (hw/i386/pc_q35.c): RAM up to 0xb0000000 stays below 4 GiB, otherwise the split moves to 2 GiB.
  const low = Math.min(ramSize, ramSize >= 0xb0000000 ? 0x80000000 : 0xb0000000);
  const out: PhysRange[] = [{ start: 0, size: Math.min(low, 0xa0000) }];
  if (low > 0x100000) out.push({ start: 0x100000, size: low - 0x100000 });
  if (ramSize > low) out.push({ start: FOUR_GIB, size: ramSize - low });
  return out;
}

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/**
 * Where QEMU's loader puts the initrd (and on arm64 the kernel and DTB) in RAM. arm64
 * (hw/arm/boot.c): kernel at the RAM base, initrd at base + min(RAM/2, 128 MiB), DTB after the
 * initrd aligned to 2 MiB. x86 (hw/i386/x86.c x86_load_linux): initrd at the top of RAM below
 * 4 GiB, under the 0x28000 bytes kept for ACPI tables, page aligned.
 */
export function bootWindows(arch: Arch, ramSize: number | undefined, initrdSize: number = ASSUMED_INITRD_SIZE): readonly BootWindow[] {
  if (arch === 'arm64') {
    const base = ARM64_VIRT_RAM_BASE;
    const initrdStart = base + Math.min((ramSize ?? 256 * MiB) / 2, 128 * MiB);
    const dtbStart = alignUp(initrdStart + initrdSize, 2 * MiB);
    return [
      { start: base, size: initrdStart - base, kind: 'kernel', what: 'the kernel image (and the room QEMU keeps for it up to the initrd)' },
      { start: initrdStart, size: initrdSize, kind: 'initrd', what: 'the initrd' },
      { start: dtbStart, size: 2 * MiB, kind: 'dtb', what: 'the DTB' },
    ];
  }
  if (ramSize === undefined) return [];
  const lowRam = qemuRamMap('x86', ramSize).reduce((end, r) => (r.start < FOUR_GIB ? Math.max(end, r.start + r.size) : end), 0);
  const initrdMax = lowRam - 0x28000 - 1;
  const initrdAddr = Math.floor((initrdMax - initrdSize) / 4096) * 4096;
  return [{ start: initrdAddr, size: lowRam - 0x28000 - initrdAddr, kind: 'initrd', what: 'the initrd' }];
}

/** The part of [start, end) not covered by any of `covers`, as ranges. */
export function uncovered(start: number, end: number, covers: readonly PhysRange[]): readonly PhysRange[] {
  const sorted = [...covers].filter((c) => c.size > 0).sort((a, b) => a.start - b.start);
  const out: PhysRange[] = [];
  let at = start;
  for (const c of sorted) {
    if (c.start + c.size <= at) continue;
    if (c.start >= end) break;
    if (c.start > at) out.push({ start: at, size: c.start - at });
    at = Math.max(at, c.start + c.size);
    if (at >= end) break;
  }
  if (at < end) out.push({ start: at, size: end - at });
  return out;
}

/** Whether [a, a + as) and [b, b + bs) share a byte. */
export function overlaps(a: number, as: number, b: number, bs: number): boolean {
  return a < b + bs && b < a + as;
}
