// Config -> zones, with the arithmetic of ramoops_probe/ramoops_init_przs for a kernel version
// (ramoops-format.md §1.3): power-of-two rounding, dmesg zones absorbing slack (4.10+), even
// zone sizes (ALIGN), zone order (pmsg before ftrace from 6.2), per-CPU ftrace.
import { LayoutError, hex } from '../errors.js';
import type { RamoopsConfig } from '../config/types.js';
import { roundDownPow2 } from '../config/numbers.js';
import { zoneGeometry, type ZoneGeometry } from '../zone/geometry.js';

export type ZoneKind = 'dmesg' | 'console' | 'ftrace' | 'pmsg';

export interface Zone {
  readonly kind: ZoneKind;
  /** dmesg record number or ftrace CPU; 0 for console and pmsg. */
  readonly index: number;
  /** Offset from mem_address. */
  readonly offset: number;
  /** Physical address. */
  readonly address: number;
  readonly geometry: ZoneGeometry;
}

/** The version-dependent choices the layout depends on. */
export interface LayoutRules {
  /** 4.10+ (dmesg zone = dump_mem / cnt; per-CPU ftrace). False = 4.9 arithmetic. */
  readonly post49: boolean;
  /** zone_sz rounded down to even in multi-zone allocation. */
  readonly evenZones: boolean;
  /** 6.2+: pmsg zone placed before the ftrace zones. */
  readonly pmsgFirst: boolean;
  /** Number of ftrace zones (nr_cpu_ids with per-CPU ftrace, else 1). */
  readonly ftraceZones: number;
}

export interface Layout {
  readonly rules: LayoutRules;
  readonly recordSize: number;
  readonly consoleSize: number;
  readonly ftraceSize: number;
  readonly pmsgSize: number;
  readonly zones: readonly Zone[];
  /** Bytes at the end of the region no zone uses. */
  readonly unused: number;
}

const U64 = 1n << 64n;
/** More zones than any real configuration has; beyond it the input is treated as absurd rather than looped over. */
export const MAX_ZONES = 1 << 22;

/** Zones exactly as the kernel's probe places them; throws LayoutError with the kernel's message where probe fails. */
export function computeLayout(config: RamoopsConfig, rules: LayoutRules): Layout {
  const recordSize = roundDownPow2(config.recordSize);
  const consoleSize = roundDownPow2(config.consoleSize);
  const ftraceSize = roundDownPow2(config.ftraceSize);
  const pmsgSize = roundDownPow2(config.pmsgSize);
  const { memAddress: base, memSize: size, eccSize } = config;
  if (!size || (!recordSize && !consoleSize && !ftraceSize && !pmsgSize)) {
    throw new LayoutError('The memory size and the record/console size must be non-zero');
  }
  const zones: Zone[] = [];
  let p = 0; // cursor, relative to base
  const regionText = `(${hex(size)}@${hex(base)})`;
  const noRoom = (name: string, memSz: bigint): LayoutError =>
    new LayoutError(`no room for ${name} mem region (${hex(memSz)}@${hex(base + p)}) in ${regionText}`);
  const add = (kind: ZoneKind, index: number, zoneSize: number): void => {
    const at = base + p;
    const geometry = zoneGeometry(zoneSize, eccSize, () => `${kind} zone ${index} at ${hex(at)}`);
    zones.push({ kind, index, offset: p, address: base + p, geometry });
    p += zoneSize;
  };

  // dmesg: dump_mem is size_t arithmetic in the kernel: a negative value wraps.
  const dumpMemBig = (BigInt(size) - BigInt(consoleSize) - BigInt(ftraceSize) - BigInt(pmsgSize) + U64) % U64;
  if (recordSize) {
    if (!rules.post49) {
      if (BigInt(p) + dumpMemBig > BigInt(size)) throw new LayoutError('no room for dumps');
      const cnt = Number(dumpMemBig / BigInt(recordSize));
      if (cnt > MAX_ZONES) throw new LayoutError(`dump record count ${cnt} is absurd: more than ${MAX_ZONES} zones`);
      if (cnt === 0) throw new LayoutError(`dump record count == 0 (${dumpMemBig} / ${recordSize}): probe fails with -ENOMEM`);
      for (let i = 0; i < cnt; i++) add('dmesg', i, recordSize);
    } else if (dumpMemBig !== 0n) {
      const cnt = dumpMemBig / BigInt(recordSize);
      if (cnt === 0n) throw new LayoutError(`dmesg record count == 0 (${dumpMemBig} / ${recordSize})`);
      if (BigInt(p) + dumpMemBig > BigInt(size)) throw noRoom('dmesg', dumpMemBig);
      if (cnt > BigInt(MAX_ZONES)) throw new LayoutError(`dmesg record count ${cnt} (${dumpMemBig} / ${recordSize}) is absurd: more than ${MAX_ZONES} zones`);
      let zoneSz = Number(dumpMemBig / cnt);
      if (rules.evenZones) zoneSz -= zoneSz % 2;
      if (!zoneSz) throw new LayoutError('dmesg zone size == 0');
      for (let i = 0; i < Number(cnt); i++) add('dmesg', i, zoneSz);
    }
  }
  const single = (kind: ZoneKind, sz: number): void => {
    if (!sz) return;
    if (p + sz > size) throw noRoom(kind, BigInt(sz));
    add(kind, 0, sz);
  };
  const ftrace = (): void => {
    if (!ftraceSize) return;
    if (!rules.post49) return single('ftrace', ftraceSize);
    const cnt = rules.ftraceZones;
    let zoneSz = Math.floor(ftraceSize / cnt);
    if (zoneSz === 0) throw new LayoutError(`ftrace record size == 0 (${ftraceSize} / ${cnt})`);
    if (p + ftraceSize > size) throw noRoom('ftrace', BigInt(ftraceSize));
    if (rules.evenZones) zoneSz -= zoneSz % 2;
    if (!zoneSz) throw new LayoutError('ftrace zone size == 0');
    for (let i = 0; i < cnt; i++) add('ftrace', i, zoneSz);
  };
  single('console', consoleSize);
  if (rules.pmsgFirst) {
    single('pmsg', pmsgSize);
    ftrace();
  } else {
    ftrace();
    single('pmsg', pmsgSize);
  }
  return { rules, recordSize, consoleSize, ftraceSize, pmsgSize, zones, unused: size - p };
}
