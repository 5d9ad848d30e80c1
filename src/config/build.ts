// Build a RamoopsConfig from settings in any source, applying the kernel's defaults and the
// module path's normalisation (ecc=1 means 16, per-CPU ftrace always on, max_reason rules).
import { ConfigError, type Warning } from '../errors.js';
import { parseKernelVersion, type KernelVersion } from '../kernel/version.js';
import type { CpuAbi } from './abi.js';
import { MODULE_DEFAULTS, type ConfigSource, type RamoopsConfig } from './types.js';

/** Loose settings as sources provide them; undefined = not given (kernel default applies). */
export interface ConfigSettings {
  memAddress?: number;
  memSize?: number;
  recordSize?: number;
  consoleSize?: number;
  ftraceSize?: number;
  pmsgSize?: number;
  /** Raw `ecc` value as the source gave it (module path: 1 means 16). */
  ecc?: number;
  memType?: number;
  maxReason?: number;
  dumpOops?: number;
  ftracePerCpu?: boolean;
  kernelVersion?: string;
  cpus?: number;
  compress?: string;
  /** The writing CPU's word size and byte order (default 64-bit little-endian). */
  abi?: CpuAbi;
}

export interface BuiltConfig {
  readonly config: RamoopsConfig;
  readonly warnings: readonly Warning[];
}

/** Later settings win field by field (JSON < command line < flags). */
export function mergeSettings(...layers: readonly ConfigSettings[]): ConfigSettings {
  const out: ConfigSettings = {};
  for (const l of layers) {
    for (const [k, v] of Object.entries(l) as [keyof ConfigSettings, unknown][]) {
      if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

function effectiveMaxReason(s: ConfigSettings): number {
  // fs/pstore/ram.c (5.8+): max_reason if >= 0, else dump_oops (1 -> Oops, 0 -> Panic), else Oops.
  if (s.maxReason !== undefined && s.maxReason >= 0) return s.maxReason;
  if (s.dumpOops !== undefined && s.dumpOops >= 0) return s.dumpOops ? 2 : 1;
  return 2;
}

/** Turn settings into a complete configuration for the module-parameter path (or DT). */
export function buildConfig(s: ConfigSettings, source: ConfigSource = 'modparams'): BuiltConfig {
  const warnings: Warning[] = [];
  const kernel: KernelVersion | undefined = s.kernelVersion ? parseKernelVersion(s.kernelVersion) : undefined;
  const dflt = source === 'dt' ? { recordSize: 0, consoleSize: 0, ftraceSize: 0, pmsgSize: 0 } : MODULE_DEFAULTS;
  if (s.memSize === undefined || s.memSize === 0) {
    throw new ConfigError('mem_size', 'not given (or 0): the kernel does not set up ramoops without a region size');
  }
  if (s.memAddress === undefined) {
    throw new ConfigError('mem_address', 'not given: the region start is needed');
  }
  let eccSize = s.ecc ?? 0;
  if (source === 'modparams' && eccSize === 1) eccSize = 16;
  if (eccSize < 0 || eccSize > 127) {
    throw new ConfigError('ecc', `${eccSize} parity bytes per block is impossible (0 = off, 1..127; 128-byte blocks need 128 + ecc <= 255)`);
  }
  if (s.cpus !== undefined && (!Number.isInteger(s.cpus) || s.cpus < 1 || s.cpus > 8192)) {
    throw new ConfigError('cpus', `${s.cpus} is not a CPU count (1..8192)`);
  }
  const config: RamoopsConfig = {
    memAddress: s.memAddress,
    memSize: s.memSize,
    recordSize: s.recordSize ?? dflt.recordSize,
    consoleSize: s.consoleSize ?? dflt.consoleSize,
    ftraceSize: s.ftraceSize ?? dflt.ftraceSize,
    pmsgSize: s.pmsgSize ?? dflt.pmsgSize,
    eccSize,
    ftracePerCpu: s.ftracePerCpu ?? source === 'modparams',
    memType: s.memType ?? 0,
    maxReason: effectiveMaxReason(s),
    source,
    kernel,
    cpus: s.cpus,
    compress: s.compress,
    ...(s.abi === undefined ? {} : { abi: s.abi }),
  };
  return { config, warnings };
}
