// StreamingScan (scan fed while the search runs) against scan() on the same signatures: real
// captures in a larger dump with stray "DBGC" bytes, the dump cut into stretches delivered in a
// random order, some never delivered (a report lost, a slice stopped at its limit). The result
// must be scan()'s every time; with every stretch delivered, each region is inferred before
// finish(), while the search would still be running.
import test from 'ava';
import { rawMemory } from '../../../src/index.js';
import { scan, StreamingScan } from '../../../src/scan/infer.js';
import { fixtureConfig, loadFixtures } from '../../helpers/fixtures.js';

function allDbgc(dump: Uint8Array, base: number): number[] {
  const out: number[] = [];
  const sig = Buffer.from('DBGC');
  const b = Buffer.from(dump.buffer, dump.byteOffset, dump.length);
  for (let i = b.indexOf(sig); i >= 0; i = b.indexOf(sig, i + 1)) out.push(base + i);
  return out;
}

/** xorshift32: the same cases every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

for (const fx of loadFixtures().filter((f, i) => i % 3 === 0 || f.name.includes('ftrace'))) {
  test(`${fx.name}: stretches in any order, some lost, give scan()'s result`, (t) => {
    const used = fixtureConfig(fx);
    const base = used.memAddress - 0x2000000;
    const dump = new Uint8Array(64 << 20);
    const stray = new TextEncoder().encode('DBGC');
    for (let a = 0x20000; a < 0x100000; a += 0x9000) dump.set(stray, a);
    dump.set(stray, dump.length - 0x5000);
    dump.set(fx.region, 0x2000000);
    const hits = allDbgc(dump, base);
    const mem = rawMemory(dump, base);
    const want = scan({ ...mem, findAll: () => hits });
    t.is(want.regions.length, 1);
    const random = rng(fx.name.length * 7919);
    for (let round = 0; round < 6; round++) {
      // Cut [base, base + size) at random points into stretches.
      const cuts = [base, base + dump.length];
      for (let k = 0; k < 2 + Math.floor(random() * 12); k++) cuts.push(base + Math.floor(random() * dump.length));
      cuts.sort((a, b) => a - b);
      const stretches = cuts.slice(1).map((to, i) => [cuts[i] ?? base, to] as const).filter(([a, b]) => b > a);
      for (let i = stretches.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [stretches[i], stretches[j]] = [stretches[j] ?? stretches[i]!, stretches[i]!];
      }
      const lose = round % 2 === 1;
      const s = new StreamingScan(mem, { start: base, end: base + dump.length });
      for (const [i, [from, to]] of stretches.entries()) {
        if (lose && i % 3 === 0) continue;
        s.add(from, to, hits.filter((h) => h >= from && h < to));
      }
      if (!lose) t.true(s.settled >= 1, 'the region was inferred before the search ended');
      t.deepEqual(s.finish(hits), want, `round ${round}`);
    }
  });
}
