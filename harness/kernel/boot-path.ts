// How QEMU starts an x86 kernel: the uncompressed vmlinux through its PVH entry with qboot
// (no SeaBIOS, no real-mode setup, no decompression under TCG: seconds per boot), or the
// bzImage through SeaBIOS when the kernel has no PVH entry (built without CONFIG_PVH).
import { access, readFile } from 'node:fs/promises';
import { pvhEntry } from '../../src/kernel/elf-notes.js';
import { KernelImageError } from '../../src/errors.js';
import { HarnessError } from '../errors.js';
import type { GuestArch } from '../qemu/args.js';
import { cachedPvhEntry, extractVmlinux, type VmlinuxOptions } from './vmlinux.js';

export type BootPathMode = 'auto' | 'pvh' | 'bzimage';
export const BOOT_PATH_MODES: readonly BootPathMode[] = ['auto', 'pvh', 'bzimage'];

export const QBOOT_ROM = '/usr/share/qemu/qboot.rom';

/** What QEMU gets as `-kernel` (and `-bios`), and why this path was taken. */
export type BootPath =
  | { readonly path: 'pvh'; readonly kernel: string; readonly firmware: string; readonly reason: string }
  | { readonly path: 'bzimage' | 'as-given'; readonly kernel: string; readonly firmware?: undefined; readonly reason: string };

export interface BootPathOptions extends VmlinuxOptions {
  readonly mode?: BootPathMode | undefined;
  /** Where qboot lives (tests point this elsewhere). */
  readonly qboot?: string | undefined;
  /** Stands in for extractVmlinux (tests). */
  readonly extract?: ((kernelPath: string, opts: VmlinuxOptions) => Promise<string>) | undefined;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** Picks the boot path of `kernelPath`; `mode: 'pvh'` on a kernel that cannot do it is an error. */
export async function chooseBootPath(kernelPath: string, arch: GuestArch, opts: BootPathOptions = {}): Promise<BootPath> {
  const mode = opts.mode ?? 'auto';
  if (arch === 'arm64') {
    if (mode === 'pvh') throw new HarnessError('boot', '--boot-path pvh is for x86_64 guests; arm64 boots its Image as given');
    return { path: 'as-given', kernel: kernelPath, reason: 'arm64 boots its Image directly' };
  }
  if (mode === 'bzimage') return { path: 'bzimage', kernel: kernelPath, reason: '--boot-path bzimage' };
  const qboot = opts.qboot ?? QBOOT_ROM;
  const fallback = (reason: string): BootPath => {
    if (mode === 'pvh') throw new HarnessError('boot', `--boot-path pvh: ${reason}; use --boot-path auto or bzimage`);
    return { path: 'bzimage', kernel: kernelPath, reason };
  };
  if (!(await exists(qboot))) return fallback(`${qboot} is missing (Debian package qemu-system-data)`);
  let vmlinux: string;
  let entry: number | undefined;
  try {
    vmlinux = await (opts.extract ?? extractVmlinux)(kernelPath, opts);
    entry = await (opts.extract === undefined ? cachedPvhEntry(vmlinux) : Promise.resolve(pvhEntry(await readFile(vmlinux), vmlinux)));
  } catch (e: unknown) {
    // Not a bzImage (or not one we can unpack): QEMU still boots it the old way.
    if (!(e instanceof KernelImageError)) throw e;
    return fallback(e.message);
  }
  if (entry === undefined) return fallback('the kernel has no PVH entry note (built without CONFIG_PVH)');
  return { path: 'pvh', kernel: vmlinux, firmware: qboot, reason: `PVH entry 0x${entry.toString(16)}` };
}
