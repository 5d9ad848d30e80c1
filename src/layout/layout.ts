// Config -> zones, with the arithmetic of ramoops_probe/ramoops_init_przs for a kernel version
// (ramoops-format.md §1.3): power-of-two rounding, dmesg zones absorbing slack (4.10+), even
// zone sizes (ALIGN), zone order (pmsg before ftrace from 6.2), per-CPU ftrace.
import { LayoutError, hex, isRamoopsError } from '../errors.js';
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
  const zones: Zone[] = [];
  const { recordSize, consoleSize, ftraceSize, pmsgSize, end } = placeZones(config, rules, (kind, first, count, offset, zoneSize, geometry) => {
    for (let k = 0; k < count; k++) {
      const at = offset + k * zoneSize;
      zones.push({ kind, index: first + k, offset: at, address: config.memAddress + at, geometry });
    }
    return true;
  });
  return { rules, recordSize, consoleSize, ftraceSize, pmsgSize, zones, unused: config.memSize - end };
}

/** Where a zone is expected: its address, whether it is ftrace, its size if known. */
export interface ExpectedZone {
  readonly address: number;
  readonly ftrace: boolean;
  /** undefined: any size (e.g. the last zone, whose end is not seen). */
  readonly size: number | undefined;
}

/** Expected zones prepared for layoutPlaces: a run of equal zones is checked in constant time. */
export interface ExpectedZones {
  readonly zones: readonly ExpectedZone[];
  /** links[t]: how many consecutive zones from t on are each followed, at their own size, by a zone of the same kind at the same distance as t's successor. */
  readonly links: Int32Array;
}

/** Prepare expected zones (in address order) for layoutPlaces. */
export function expectZones(zones: readonly ExpectedZone[]): ExpectedZones {
  const links = new Int32Array(zones.length);
  for (let t = zones.length - 2; t >= 0; t--) {
    const z = zones[t];
    const next = zones[t + 1];
    if (!z || !next) continue;
    const step = next.address - z.address;
    const linked = next.ftrace === z.ftrace && (z.size === undefined || z.size === step);
    if (!linked) continue;
    const after = zones[t + 2];
    const sameStep = after !== undefined && after.address - next.address === step;
    links[t] = 1 + (sameStep ? (links[t + 1] ?? 0) : 0);
  }
  return { zones, links };
}

/**
 * Whether computeLayout(config, rules) succeeds and puts exactly the expected zones (same
 * count, addresses, ftrace or not, sizes where given), without building the layout: scan
 * tries thousands of candidate configurations of hundreds of zones each.
 */
export function layoutPlaces(config: RamoopsConfig, rules: LayoutRules, expected: ExpectedZones): boolean {
  const { zones, links } = expected;
  let i = 0;
  try {
    const placed = placeZones(config, rules, (kind, _first, count, offset, zoneSize) => {
      const w = zones[i];
      const last = zones[i + count - 1];
      const ftrace = kind === 'ftrace';
      // The run's first zone in place; the ones between linked at the zone size; the last of the right kind and size.
      const ok =
        !!w &&
        !!last &&
        w.address === config.memAddress + offset &&
        (count === 1 || (w.address + zoneSize === zones[i + 1]?.address && (links[i] ?? 0) >= count - 1)) &&
        w.ftrace === ftrace &&
        last.ftrace === ftrace &&
        (last.size === undefined || last.size === zoneSize);
      i += count;
      return ok;
    });
    return !placed.stopped && i === zones.length;
  } catch (e) {
    if (isRamoopsError(e)) return false;
    throw e;
  }
}

interface Placed {
  readonly recordSize: number;
  readonly consoleSize: number;
  readonly ftraceSize: number;
  readonly pmsgSize: number;
  /** Offset just past the last zone placed. */
  readonly end: number;
  /** The visitor asked to stop: the rest was neither placed nor checked. */
  readonly stopped: boolean;
}

/** A run of `count` equal zones of one kind from `offset` on; false stops the placement. */
type RunVisitor = (kind: ZoneKind, firstIndex: number, count: number, offset: number, zoneSize: number, geometry: ZoneGeometry) => boolean;

/**
 * The kernel probe's arithmetic for computeLayout and layoutPlaces (one copy of the rules, so
 * the two cannot disagree), as runs of equal zones: the dmesg zones, console, ftrace, pmsg.
 * Throws LayoutError where probe fails, before the run concerned is visited.
 */
function placeZones(config: RamoopsConfig, rules: LayoutRules, visit: RunVisitor): Placed {
  const recordSize = roundDownPow2(config.recordSize);
  const consoleSize = roundDownPow2(config.consoleSize);
  const ftraceSize = roundDownPow2(config.ftraceSize);
  const pmsgSize = roundDownPow2(config.pmsgSize);
  const { memAddress: base, memSize: size, eccSize } = config;
  if (!size || (!recordSize && !consoleSize && !ftraceSize && !pmsgSize)) {
    throw new LayoutError('The memory size and the record/console size must be non-zero');
  }
  let p = 0; // cursor, relative to base
  let stopped = false;
  const done = (): Placed => ({ recordSize, consoleSize, ftraceSize, pmsgSize, end: p, stopped });
  // Built only for a message: scan places thousands of layouts.
  const regionText = (): string => `(${hex(size)}@${hex(base)})`;
  const noRoom = (name: string, memSz: bigint): LayoutError =>
    new LayoutError(`no room for ${name} mem region (${hex(memSz)}@${hex(base + p)}) in ${regionText()}`);
  const run = (kind: ZoneKind, count: number, zoneSize: number): boolean => {
    if (!count) return true;
    const at = base + p;
    // Equal zones have equal geometry; where it fails, it fails at the run's first zone.
    const geometry = zoneGeometry(zoneSize, eccSize, () => `${kind} zone 0 at ${hex(at)}`);
    if (!visit(kind, 0, count, p, zoneSize, geometry)) {
      stopped = true;
      return false;
    }
    p += count * zoneSize;
    return true;
  };

  if (recordSize) {
    const dmesg = dmesgRun(size, consoleSize, ftraceSize, pmsgSize, recordSize, rules, (dumpMem) => noRoom('dmesg', dumpMem));
    if (!run('dmesg', dmesg.count, dmesg.zoneSize)) return done();
  }
  const single = (kind: ZoneKind, sz: number): boolean => {
    if (!sz) return true;
    if (p + sz > size) throw noRoom(kind, BigInt(sz));
    return run(kind, 1, sz);
  };
  const ftrace = (): boolean => {
    if (!ftraceSize) return true;
    if (!rules.post49) return single('ftrace', ftraceSize);
    const cnt = rules.ftraceZones;
    let zoneSz = Math.floor(ftraceSize / cnt);
    if (zoneSz === 0) throw new LayoutError(`ftrace record size == 0 (${ftraceSize} / ${cnt})`);
    if (p + ftraceSize > size) throw noRoom('ftrace', BigInt(ftraceSize));
    if (rules.evenZones) zoneSz -= zoneSz % 2;
    if (!zoneSz) throw new LayoutError('ftrace zone size == 0');
    return run('ftrace', cnt, zoneSz);
  };
  if (!single('console', consoleSize)) return done();
  if (rules.pmsgFirst) {
    if (single('pmsg', pmsgSize)) ftrace();
  } else if (ftrace()) single('pmsg', pmsgSize);
  return done();
}

/** The dmesg zones: how many, and their size. */
interface DmesgRun {
  readonly count: number;
  readonly zoneSize: number;
}

/** dump_mem and the dmesg zones from it, with the kernel's checks (the cursor is at 0 here). */
function dmesgRun(size: number, consoleSize: number, ftraceSize: number, pmsgSize: number, recordSize: number, rules: LayoutRules, noRoom: (dumpMem: bigint) => LayoutError): DmesgRun {
  const others = consoleSize + ftraceSize + pmsgSize;
  if (Number.isSafeInteger(size) && Number.isSafeInteger(others) && size >= others) {
    // Plain numbers are exact here (every parsed configuration takes this path), and cheap:
    // scan places thousands of layouts. dump_mem <= size, so the room checks cannot fail.
    const dumpMem = size - others;
    if (!rules.post49) {
      const cnt = Math.floor(dumpMem / recordSize);
      if (cnt > MAX_ZONES) throw new LayoutError(`dump record count ${cnt} is absurd: more than ${MAX_ZONES} zones`);
      if (cnt === 0) throw new LayoutError(`dump record count == 0 (${dumpMem} / ${recordSize}): probe fails with -ENOMEM`);
      return { count: cnt, zoneSize: recordSize };
    }
    if (dumpMem === 0) return { count: 0, zoneSize: 0 };
    const cnt = Math.floor(dumpMem / recordSize);
    if (cnt === 0) throw new LayoutError(`dmesg record count == 0 (${dumpMem} / ${recordSize})`);
    if (cnt > MAX_ZONES) throw new LayoutError(`dmesg record count ${cnt} (${dumpMem} / ${recordSize}) is absurd: more than ${MAX_ZONES} zones`);
    // The correctly rounded quotient of integers below 2^53 never rounds up to the next integer.
    let zoneSz = Math.floor(dumpMem / cnt);
    if (rules.evenZones) zoneSz -= zoneSz % 2;
    if (!zoneSz) throw new LayoutError('dmesg zone size == 0');
    return { count: cnt, zoneSize: zoneSz };
  }
  // dump_mem is size_t arithmetic in the kernel: a negative value wraps (and then never fits).
  const dumpMemBig = (BigInt(size) - BigInt(consoleSize) - BigInt(ftraceSize) - BigInt(pmsgSize) + U64) % U64;
  if (!rules.post49) {
    if (dumpMemBig > BigInt(size)) throw new LayoutError('no room for dumps');
    const cnt = Number(dumpMemBig / BigInt(recordSize));
    if (cnt > MAX_ZONES) throw new LayoutError(`dump record count ${cnt} is absurd: more than ${MAX_ZONES} zones`);
    if (cnt === 0) throw new LayoutError(`dump record count == 0 (${dumpMemBig} / ${recordSize}): probe fails with -ENOMEM`);
    return { count: cnt, zoneSize: recordSize };
  }
  if (dumpMemBig === 0n) return { count: 0, zoneSize: 0 };
  const cnt = dumpMemBig / BigInt(recordSize);
  if (cnt === 0n) throw new LayoutError(`dmesg record count == 0 (${dumpMemBig} / ${recordSize})`);
  if (dumpMemBig > BigInt(size)) throw noRoom(dumpMemBig);
  if (cnt > BigInt(MAX_ZONES)) throw new LayoutError(`dmesg record count ${cnt} (${dumpMemBig} / ${recordSize}) is absurd: more than ${MAX_ZONES} zones`);
  let zoneSz = Number(dumpMemBig / cnt);
  if (rules.evenZones) zoneSz -= zoneSz % 2;
  if (!zoneSz) throw new LayoutError('dmesg zone size == 0');
  return { count: Number(cnt), zoneSize: zoneSz };
}
