// One configuration type for every source (module parameters, command line, device tree, JSON).
import type { KernelVersion } from '../kernel/version.js';
import type { CpuAbi } from './abi.js';

export type ConfigSource = 'modparams' | 'dt';

export interface RamoopsConfig {
  /** Physical address of the region (ramoops.mem_address / DT reg). */
  readonly memAddress: number;
  readonly memSize: number;
  /** Sizes as given; the layout rounds them down to powers of two like the kernel. */
  readonly recordSize: number;
  readonly consoleSize: number;
  readonly ftraceSize: number;
  readonly pmsgSize: number;
  /** Parity bytes per 128-byte block; 0 = ECC off. Already normalised (module `ecc=1` means 16). */
  readonly eccSize: number;
  /** FTRACE_PER_CPU: the module path always sets it, DT only via `flags`. */
  readonly ftracePerCpu: boolean;
  readonly memType: number;
  /** Effective max_reason (1 Panic, 2 Oops, 3 Emergency, 4 Shutdown). */
  readonly maxReason: number;
  readonly source: ConfigSource;
  /** Kernel version of the writing/reading kernel, when known. */
  readonly kernel: KernelVersion | undefined;
  /** nr_cpu_ids of the writing kernel (per-CPU ftrace zones); inferred when undefined. */
  readonly cpus: number | undefined;
  /** pstore.compress= as given; undefined means the build's default (deflate). */
  readonly compress: string | undefined;
  /** The writing CPU's word size and byte order; undefined is 64-bit little-endian (DEFAULT_ABI). */
  readonly abi?: CpuAbi | undefined;
}

/** The kernel's module-path defaults (fs/pstore/ram.c). */
export const MODULE_DEFAULTS = {
  recordSize: 4096,
  consoleSize: 4096,
  ftraceSize: 4096,
  pmsgSize: 4096,
} as const;
