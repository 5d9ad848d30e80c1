// layoutPlaces (scan's check of thousands of candidate configurations) must give exactly the
// verdict of building the layout with computeLayout and comparing it zone by zone, including
// where computeLayout refuses the configuration.
import test from 'ava';
import fc from 'fast-check';
import { computeLayout, expectZones, layoutPlaces, type ExpectedZone, type LayoutRules } from '../../../src/layout/layout.js';
import { isRamoopsError } from '../../../src/errors.js';
import type { RamoopsConfig } from '../../../src/config/types.js';
import { buildConfig } from '../../../src/config/build.js';

/** The straightforward check layoutPlaces replaces. */
function reference(config: RamoopsConfig, rules: LayoutRules, expected: readonly ExpectedZone[]): boolean {
  try {
    const l = computeLayout(config, rules);
    return l.zones.length === expected.length && l.zones.every((z, i) => {
      const w = expected[i];
      return !!w && z.address === w.address && (z.kind === 'ftrace') === w.ftrace && (w.size === undefined || w.size === z.geometry.size);
    });
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
