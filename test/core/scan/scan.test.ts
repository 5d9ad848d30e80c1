// scan on real captures placed inside larger dumps: it must find the region and the exact
// configuration the guest used, and extracting with that inferred configuration must give the
// guest's own files.
import test from 'ava';
import { extract, rawMemory } from '../../../src/index.js';
import { scan } from '../../../src/scan/infer.js';
import { configAsCmdline } from '../../../src/scan/render.js';
import { fixtureConfig, loadFixtures } from '../../helpers/fixtures.js';

const fixtures = loadFixtures();

for (const fx of fixtures) {
  test(`${fx.name}: scan finds the region and the guest's configuration`, (t) => {
    const used = fixtureConfig(fx);
    // The region in mid-RAM of a 160 MiB dump whose first byte is physical 0x1000000, with stray "DBGC" noise before it.
    // (0x1000000 for the x86 captures at 0x8000000; arm64 regions sit at 0x50000000.)
    const base = used.memAddress - 0x7000000;
    const dump = new Uint8Array(160 << 20);
    const stray = new TextEncoder().encode('DBGC');
    for (let a = 0x20000; a < 0x100000; a += 0x9000) dump.set(stray, a);
    dump.set(fx.region, used.memAddress - base);
    const r = scan(rawMemory(dump, base));
    t.is(r.regions.length, 1);
    const g = r.regions[0];
    if (!g) return;
    t.like(g.config, {
      memAddress: used.memAddress,
      memSize: used.memSize,
      recordSize: used.recordSize,
      consoleSize: used.consoleSize,
      ftraceSize: used.ftraceSize,
      pmsgSize: used.pmsgSize,
      eccSize: used.eccSize,
    });
    t.is(g.confidence, 'high', g.reasons.join('; '));
    t.true(configAsCmdline(g.config).includes(`ramoops.mem_size=0x${used.memSize.toString(16)}`));
    // Extract with what scan inferred (no version given: the ftrace signature supplies it).
    const x = extract(rawMemory(dump, base), g.config);
    t.deepEqual(x.files.map((f) => f.name).sort(), fx.expected.map((e) => e.name).sort());
    for (const e of fx.expected) {
      if (e.name.startsWith('ftrace')) continue; // symbolization needs the System.map
      const f = x.files.find((ff) => ff.name === e.name);
      t.true(!!f && Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), e.name);
    }
  });
}

test('a dump without ramoops finds nothing and says so', (t) => {
  const dump = new Uint8Array(8 << 20);
  dump.set(new TextEncoder().encode('DBGC\x00\x00\x00\x00\x00\x00\x00\x00'), 12345);
  const r = scan(rawMemory(dump, 0));
  t.is(r.regions.length, 0);
  t.is(r.signaturesSeen, 1);
  t.is(r.unexplained.length, 1);
});
