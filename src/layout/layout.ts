// Config -> zones, with the arithmetic of ramoops_probe/ramoops_init_przs for a kernel version
// (docs/format.md §2): power-of-two rounding, dmesg zones absorbing slack (4.10+), even
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
    // One zone after the other, as the probe adds them (the same as offset + k * zoneSize
    // while offsets stay below 2^53; beyond, only repeated addition rounds the same way).
    let at = offset;
    for (let k = 0; k < count; k++) {
      zones.push({ kind, index: first + k, offset: at, address: config.memAddress + at, geometry });
      at += zoneSize;
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
  // Addresses past 2^53 are not exact: there, compare the layout zone by zone.
  if (!Number.isSafeInteger(config.memAddress + config.memSize)) return layoutMatchesByZone(config, rules, zones);
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

function layoutMatchesByZone(config: RamoopsConfig, rules: LayoutRules, expected: readonly ExpectedZone[]): boolean {
  let layout: Layout;
  try {
    layout = computeLayout(config, rules);
  } catch (e) {
    if (isRamoopsError(e)) return false;
    throw e;
  }
  return (
    layout.zones.length === expected.length &&
    layout.zones.every((z, i) => {
      const w = expected[i];
      return !!w && z.address === w.address && (z.kind === 'ftrace') === w.ftrace && (w.size === undefined || w.size === z.geometry.size);
    })
  );
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
 * Throws LayoutError where probe fails, before the run concerned is visited. Written without
 * closures or per-call objects beyond the result: scan calls it thousands of times, mostly
 * before the JIT has compiled it.
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
  if (recordSize) {
    const others = consoleSize + ftraceSize + pmsgSize;
    const cnt = dmesgCount(size, others, consoleSize, ftraceSize, pmsgSize, recordSize, rules, base);
    if (cnt) {
      const zoneSz = dmesgZoneSize(size, others, consoleSize, ftraceSize, pmsgSize, cnt, recordSize, rules);
      stopped = !visitRun(visit, 'dmesg', cnt, base, p, zoneSz, eccSize);
      p = advance(p, cnt, zoneSz);
    }
  }
  if (!stopped && consoleSize) {
    if (p + consoleSize > size) throw noRoom('console', BigInt(consoleSize), base, p, size);
    stopped = !visitRun(visit, 'console', 1, base, p, consoleSize, eccSize);
    p += consoleSize;
  }
  // 6.2+ places pmsg before ftrace.
  for (let k = 0; k < 2 && !stopped; k++) {
    if ((k === 0) === rules.pmsgFirst) {
      if (!pmsgSize) continue;
      if (p + pmsgSize > size) throw noRoom('pmsg', BigInt(pmsgSize), base, p, size);
      stopped = !visitRun(visit, 'pmsg', 1, base, p, pmsgSize, eccSize);
      p += pmsgSize;
    } else {
      if (!ftraceSize) continue;
      let cnt = 1;
      let zoneSz = ftraceSize;
      if (rules.post49) {
        cnt = rules.ftraceZones;
        zoneSz = Math.floor(ftraceSize / cnt);
        if (zoneSz === 0) throw new LayoutError(`ftrace record size == 0 (${ftraceSize} / ${cnt})`);
      }
      if (p + ftraceSize > size) throw noRoom('ftrace', BigInt(ftraceSize), base, p, size);
      if (rules.post49) {
        if (rules.evenZones) zoneSz -= zoneSz % 2;
        if (!zoneSz) throw new LayoutError('ftrace zone size == 0');
      }
      if (!cnt) continue;
      stopped = !visitRun(visit, 'ftrace', cnt, base, p, zoneSz, eccSize);
      p = advance(p, cnt, zoneSz);
    }
  }
  return { recordSize, consoleSize, ftraceSize, pmsgSize, end: p, stopped };
}

/** The cursor after `count` zones of `size` from p: one step below 2^53, where that is exact; beyond, zone by zone as the probe adds them. */
function advance(p: number, count: number, size: number): number {
  const q = p + count * size;
  if (Number.isSafeInteger(q)) return q;
  let x = p;
  for (let k = 0; k < count; k++) x += size;
  return x;
}

/** Visit a run of `count` equal zones at offset p; equal zones have equal geometry, and where it fails it fails at the run's first zone. */
function visitRun(visit: RunVisitor, kind: ZoneKind, count: number, base: number, p: number, zoneSize: number, eccSize: number): boolean {
  const geometry = zoneGeometry(zoneSize, eccSize, () => `${kind} zone 0 at ${hex(base + p)}`);
  return visit(kind, 0, count, p, zoneSize, geometry);
}

function noRoom(name: string, memSz: bigint, base: number, p: number, size: number): LayoutError {
  return new LayoutError(`no room for ${name} mem region (${hex(memSz)}@${hex(base + p)}) in (${hex(size)}@${hex(base)})`);
}

/**
 * How many dmesg zones dump_mem gives, with the kernel's checks (the cursor is at 0 here).
 * dump_mem is size_t in the kernel: plain numbers are exact when the region size and the
 * other zones' total are safe integers, as every parsed configuration's are; otherwise, and
 * for a negative dump_mem (which wraps and then never fits), the same in BigInt.
 */
function dmesgCount(
  size: number,
  others: number,
  consoleSize: number,
  ftraceSize: number,
  pmsgSize: number,
  recordSize: number,
  rules: LayoutRules,
  base: number,
): number {
  if (Number.isSafeInteger(size) && Number.isSafeInteger(others) && size >= others) {
    // dump_mem <= size here, so the room checks cannot fail.
    const dumpMem = size - others;
    if (!rules.post49) {
      const cnt = Math.floor(dumpMem / recordSize);
      if (cnt > MAX_ZONES) throw new LayoutError(`dump record count ${cnt} is absurd: more than ${MAX_ZONES} zones`);
      if (cnt === 0) throw new LayoutError(`dump record count == 0 (${dumpMem} / ${recordSize}): probe fails with -ENOMEM`);
      return cnt;
    }
    if (dumpMem === 0) return 0;
    const cnt = Math.floor(dumpMem / recordSize);
    if (cnt === 0) throw new LayoutError(`dmesg record count == 0 (${dumpMem} / ${recordSize})`);
    if (cnt > MAX_ZONES) throw new LayoutError(`dmesg record count ${cnt} (${dumpMem} / ${recordSize}) is absurd: more than ${MAX_ZONES} zones`);
    return cnt;
  }
  const dumpMemBig = (BigInt(size) - BigInt(consoleSize) - BigInt(ftraceSize) - BigInt(pmsgSize) + U64) % U64;
  if (!rules.post49) {
    if (dumpMemBig > BigInt(size)) throw new LayoutError('no room for dumps');
    const cnt = Number(dumpMemBig / BigInt(recordSize));
    if (cnt > MAX_ZONES) throw new LayoutError(`dump record count ${cnt} is absurd: more than ${MAX_ZONES} zones`);
    if (cnt === 0) throw new LayoutError(`dump record count == 0 (${dumpMemBig} / ${recordSize}): probe fails with -ENOMEM`);
    return cnt;
  }
  if (dumpMemBig === 0n) return 0;
  const cnt = dumpMemBig / BigInt(recordSize);
  if (cnt === 0n) throw new LayoutError(`dmesg record count == 0 (${dumpMemBig} / ${recordSize})`);
  if (dumpMemBig > BigInt(size)) throw noRoom('dmesg', dumpMemBig, base, 0, size);
  if (cnt > BigInt(MAX_ZONES)) throw new LayoutError(`dmesg record count ${cnt} (${dumpMemBig} / ${recordSize}) is absurd: more than ${MAX_ZONES} zones`);
  return Number(cnt);
}

/** The size of each of `cnt` (> 0) dmesg zones: dump_mem / cnt, even from 6.6 and the backports (4.9: record_size). */
function dmesgZoneSize(
  size: number,
  others: number,
  consoleSize: number,
  ftraceSize: number,
  pmsgSize: number,
  cnt: number,
  recordSize: number,
  rules: LayoutRules,
): number {
  if (!rules.post49) return recordSize;
  // As in dmesgCount: exact in plain numbers when the inputs are safe integers (dump_mem is
  // then >= 0, or dmesgCount would have thrown), else in BigInt. The correctly rounded
  // quotient of integers below 2^53 never rounds up to the next integer.
  let zoneSz =
    Number.isSafeInteger(size) && Number.isSafeInteger(others) && size >= others
      ? Math.floor((size - others) / cnt)
      : Number(((BigInt(size) - BigInt(consoleSize) - BigInt(ftraceSize) - BigInt(pmsgSize) + U64) % U64) / BigInt(cnt));
  if (rules.evenZones) zoneSz -= zoneSz % 2;
  if (!zoneSz) throw new LayoutError('dmesg zone size == 0');
  return zoneSz;
}
