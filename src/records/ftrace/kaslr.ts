// The KASLR offset of a kernel, as its panic prints it. ftrace records hold raw addresses; a
// System.map names them only when shifted by the offset of the kernel whose names are wanted.
// x86 (arch/x86/kernel/setup.c dump_kernel_offset, a panic notifier, so before the panic's
// kmsg_dump and inside its dmesg record):
//   Kernel Offset: 0x1e400000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
// arm64 (arch/arm64/kernel/setup.c):
//   Kernel Offset: 0x1e400000 from 0xffff800008000000
// Both print `Kernel Offset: disabled` without randomization.

/** One `Kernel Offset:` line: the offset added to every link-time address, or 'disabled' (0). */
export interface KernelOffsetLine {
  readonly offset: bigint | 'disabled';
  /** The link-time base it is counted from (__START_KERNEL / KIMAGE_VADDR); undefined when disabled. */
  readonly base: bigint | undefined;
  /** The line as printed, without the log prefix. */
  readonly text: string;
}

const OFFSET_LINE = /Kernel Offset: (?:0x([0-9a-fA-F]+) from 0x([0-9a-fA-F]+)[^\n]*|disabled)/g;

/** The last `Kernel Offset:` line of a kernel log text, if any (the last panic wins). */
export function findKernelOffset(text: string): KernelOffsetLine | undefined {
  let found: KernelOffsetLine | undefined;
  for (const m of text.matchAll(OFFSET_LINE)) {
    found =
      m[1] === undefined
        ? { offset: 'disabled', base: undefined, text: m[0] }
        : { offset: BigInt('0x' + m[1]), base: BigInt('0x' + (m[2] ?? '0')), text: m[0] };
  }
  return found;
}

/** Parse a KASLR offset as a user writes it: hex with or without 0x (the panic line prints 0x...). */
export function parseKaslrOffset(text: string): bigint | undefined {
  const m = /^(?:0x)?([0-9a-fA-F]{1,16})$/.exec(text.trim());
  return m?.[1] === undefined ? undefined : BigInt('0x' + m[1]);
}
