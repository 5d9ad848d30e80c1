// readZone's prefix read (scan's compressor guess) against the full read, on every zone of the
// real captures: the same opening bytes of the old log, wrapped rings included, when nothing
// needs correcting; no ECC work and no ECC counts.
import test from 'ava';
import { computeLayout } from '../../../src/layout/layout.js';
import { readZone } from '../../../src/zone/read.js';
import { PERSISTENT_RAM_SIG } from '../../../src/zone/geometry.js';
import { fixtureConfig, loadFixtures } from '../../helpers/fixtures.js';

test('prefix: the first N bytes of the full read, uncorrected, on every zone of every capture', (t) => {
  let zones = 0;
  let wrapped = 0;
  let ecc = 0;
  for (const fx of loadFixtures()) {
    // The corruption captures differ from the full read where ECC corrected: by design.
    if (fx.name.includes('corrected') || fx.name.includes('uncorrectable')) continue;
    const config = fixtureConfig(fx);
    const layout = computeLayout(config, { post49: true, pmsgFirst: /^6\.(1[2-9]|[2-9])/.test(fx.release), evenZones: true, ftraceZones: fx.cpus });
    for (const z of layout.zones) {
      const bytes = fx.region.subarray(z.address - config.memAddress, z.address - config.memAddress + z.geometry.size);
      const expectedSig = z.kind === 'ftrace' ? undefined : PERSISTENT_RAM_SIG;
      if (expectedSig === undefined) continue;
      const opts = { expectedSig, emptyNeedsStartZero: false, rsMode: 'v5.3+' as const };
      const full = readZone(bytes, z.geometry, opts);
      if (full.status !== 'ok') continue;
      zones++;
      if (full.start !== full.size) wrapped++;
      if (full.ecc) ecc++;
      for (const n of [0, 1, 40, 1024, full.size - 1, full.size, full.size + 5]) {
        if (n < 0) continue;
        const part = readZone(bytes, z.geometry, { ...opts, prefix: n });
        t.is(part.status, 'ok');
        t.is(part.ecc, undefined, 'a prefix read does no ECC work');
        t.deepEqual(part.oldLog, full.oldLog.subarray(0, Math.min(n, full.size)), `${fx.name} ${z.kind} ${z.index} prefix ${n}`);
      }
    }
  }
  t.true(zones > 20, `${zones} zones read`);
  t.true(wrapped > 0, 'a wrapped ring among them');
  t.true(ecc > 0, 'ECC zones among them');
});
