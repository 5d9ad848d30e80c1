// computeLayout and layoutPlaces share one placement written for speed (runs of equal zones,
// plain numbers where exact): computeLayout must still give exactly what the straightforward
// zone-by-zone BigInt version gave (zones or the kernel's refusal), and layoutPlaces (scan's
// check of thousands of candidate configurations) exactly the verdict of building the layout
// and comparing it zone by zone, including where computeLayout refuses the configuration.
import test from 'ava';
import fc from 'fast-check';
import {
  computeLayout,
  expectZones,
  layoutPlaces,
  MAX_ZONES,
  type ExpectedZone,
  type LayoutRules,
  type Zone,
  type ZoneKind,
} from '../../../src/layout/layout.js';
import { hex, isRamoopsError, LayoutError } from '../../../src/errors.js';
import type { RamoopsConfig } from '../../../src/config/types.js';
import { buildConfig } from '../../../src/config/build.js';
import { roundDownPow2 } from '../../../src/config/numbers.js';
import { zoneGeometry } from '../../../src/zone/geometry.js';

const U64 = 1n << 64n;

/** computeLayout as it was before the shared placement: one zone at a time, dump_mem in BigInt. */
function referenceLayout(config: RamoopsConfig, rules: LayoutRules): { zones: Zone[]; unused: number } {
  const recordSize = roundDownPow2(config.recordSize);
  const consoleSize = roundDownPow2(config.consoleSize);
  const ftraceSize = roundDownPow2(config.ftraceSize);
  const pmsgSize = roundDownPow2(config.pmsgSize);
  const { memAddress: base, memSize: size, eccSize } = config;
  if (!size || (!recordSize && !consoleSize && !ftraceSize && !pmsgSize)) throw new LayoutError('The memory size and the record/console size must be non-zero');
  const zones: Zone[] = [];
  let p = 0;
  const regionText = `(${hex(size)}@${hex(base)})`;
  const noRoom = (name: string, memSz: bigint): LayoutError =>
    new LayoutError(`no room for ${name} mem region (${hex(memSz)}@${hex(base + p)}) in ${regionText}`);
  const add = (kind: ZoneKind, index: number, zoneSize: number): void => {
    const at = base + p;
    const geometry = zoneGeometry(zoneSize, eccSize, () => `${kind} zone ${index} at ${hex(at)}`);
    zones.push({ kind, index, offset: p, address: base + p, geometry });
    p += zoneSize;
  };
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
  return { zones, unused: size - p };
}

/** A layout or its refusal, comparable as text. */
function outcome(f: () => { zones: readonly Zone[]; unused: number }): string {
  try {
    const l = f();
    return JSON.stringify({ zones: l.zones, unused: l.unused });
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

/** The straightforward check layoutPlaces replaces. */
function reference(config: RamoopsConfig, rules: LayoutRules, expected: readonly ExpectedZone[]): boolean {
  try {
    const l = computeLayout(config, rules);
    return (
      l.zones.length === expected.length &&
      l.zones.every((z, i) => {
        const w = expected[i];
        return !!w && z.address === w.address && (z.kind === 'ftrace') === w.ftrace && (w.size === undefined || w.size === z.geometry.size);
      })
    );
  } catch (e) {
    if (isRamoopsError(e)) return false;
    throw e;
  }
}

const sizeArb = fc.oneof(fc.constantFrom(0, 0x800, 0x1000, 0x4000, 0x10000), fc.integer({ min: 0, max: 0x20000 }));
const configArb = fc.record({
  memAddress: fc.constantFrom(0, 0x8000000, 0x1234),
  memSize: fc.oneof(fc.constantFrom(0x100000, 0x80000, 0x40000, 0x100800, 0xfff00), fc.integer({ min: 1, max: 0x200000 })),
  recordSize: sizeArb,
  consoleSize: sizeArb,
  ftraceSize: sizeArb,
  pmsgSize: sizeArb,
  ecc: fc.constantFrom(0, 0, 16, 64, 127),
});
const rulesArb = fc.record({ post49: fc.boolean(), evenZones: fc.boolean(), pmsgFirst: fc.boolean(), ftraceZones: fc.integer({ min: 1, max: 4 }) });
// How the expected zones are derived from a layout: as they are (a match), or broken somewhere.
const mutationArb = fc.record({
  kind: fc.constantFrom('none', 'none', 'drop-last', 'drop-first', 'extra', 'shift', 'flip-ftrace', 'resize', 'unsize', 'other-config'),
  at: fc.nat(),
  by: fc.constantFrom(-2, -1, 1, 2, 4096),
});

test('computeLayout gives what the zone-by-zone BigInt version gave, refusals included', (t) => {
  const anySize = fc.oneof(sizeArb, fc.constantFrom(2 ** 53 + 4096, 2 ** 60, 0x7fffffff), fc.integer({ min: 0, max: 0x2000000 }));
  fc.assert(
    fc.property(
      fc.record({
        memAddress: fc.constantFrom(0, 0x8000000),
        memSize: anySize,
        recordSize: anySize,
        consoleSize: anySize,
        ftraceSize: anySize,
        pmsgSize: anySize,
        eccSize: fc.constantFrom(0, 16, 100, 127),
      }),
      rulesArb,
      fc.integer({ min: 0, max: 5 }),
      (sizes, rules, ftraceZones) => {
        const config = { ...buildConfig({ memAddress: 0, memSize: 1 }).config, ...sizes };
        const r = { ...rules, ftraceZones };
        return outcome(() => computeLayout(config, r)) === outcome(() => referenceLayout(config, r));
      },
    ),
    { numRuns: 5000, seed: 42 },
  );
  t.pass();
});

test('layoutPlaces agrees with computeLayout + zone-by-zone comparison', (t) => {
  let matched = 0;
  let checked = 0;
  fc.assert(
    fc.property(configArb, configArb, rulesArb, rulesArb, mutationArb, (a, b, rules, otherRules, mut) => {
      let config: RamoopsConfig;
      try {
        config = buildConfig(a).config;
      } catch {
        return true;
      }
      let source: ExpectedZone[] = [];
      try {
        const from = mut.kind === 'other-config' ? { ...b, memAddress: a.memAddress } : a;
        const l = computeLayout(buildConfig(from).config, mut.kind === 'other-config' ? otherRules : rules);
        source = l.zones.map((z) => ({ address: z.address, ftrace: z.kind === 'ftrace', size: z.geometry.size }));
      } catch {
        source = [{ address: a.memAddress, ftrace: false, size: undefined }];
      }
      const e = source.slice();
      const i = e.length ? mut.at % e.length : 0;
      const z = e[i];
      if (mut.kind === 'drop-last') e.pop();
      else if (mut.kind === 'drop-first') e.shift();
      else if (mut.kind === 'extra') e.push({ address: (e[e.length - 1]?.address ?? 0) + 0x1000, ftrace: false, size: undefined });
      else if (z && mut.kind === 'shift') e[i] = { ...z, address: z.address + mut.by };
      else if (z && mut.kind === 'flip-ftrace') e[i] = { ...z, ftrace: !z.ftrace };
      else if (z && mut.kind === 'resize') e[i] = { ...z, size: (z.size ?? 0) + mut.by };
      else if (z && mut.kind === 'unsize') e[i] = { ...z, size: undefined };
      const want = reference(config, rules, e);
      checked++;
      if (want) matched++;
      return layoutPlaces(config, rules, expectZones(e)) === want;
    }),
    { numRuns: 4000, seed: 20261126 },
  );
  // Both verdicts must have been exercised for the agreement to mean something.
  t.true(matched > 100 && checked - matched > 100, `${matched} matches of ${checked}`);
});

test('a run of equal zones with one zone out of step does not match', (t) => {
  const config = buildConfig({ memAddress: 0x100000, memSize: 0x10000, recordSize: 0x1000, consoleSize: 0, ftraceSize: 0, pmsgSize: 0 }).config;
  const rules: LayoutRules = { post49: true, evenZones: false, pmsgFirst: false, ftraceZones: 1 };
  const good = Array.from({ length: 16 }, (_, k): ExpectedZone => ({ address: 0x100000 + k * 0x1000, ftrace: false, size: 0x1000 }));
  t.true(layoutPlaces(config, rules, expectZones(good)));
  for (let k = 1; k < 16; k++) {
    const bad = good.map((z, j) => (j === k ? { ...z, address: z.address + 2 } : z));
    t.false(layoutPlaces(config, rules, expectZones(bad)), `zone ${k} moved`);
    const sized = good.map((z, j) => (j === k ? { ...z, size: 0x800 } : z));
    t.false(layoutPlaces(config, rules, expectZones(sized)), `zone ${k} resized`);
    const kind = good.map((z, j) => (j === k ? { ...z, ftrace: true } : z));
    t.false(layoutPlaces(config, rules, expectZones(kind)), `zone ${k} ftrace`);
  }
});
