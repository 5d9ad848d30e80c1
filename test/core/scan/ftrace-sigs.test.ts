// findFtraceSigs with a limit reads in growing pieces and stops early; its answer must be the
// first `limit` signatures of the unlimited search, also where one straddles two pieces.
import test from 'ava';
import fc from 'fast-check';
import { rawMemory } from '../../../src/dump/memory.js';
import { findFtraceSigs } from '../../../src/scan/signatures.js';
import { PERSISTENT_RAM_SIG } from '../../../src/zone/geometry.js';

test('the first signatures are those of the full search, across piece boundaries', (t) => {
  const size = 600 << 10; // pieces of 64, 128, 256 KiB from `from`
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: size - 12 }), { maxLength: 6 }),
      fc.nat({ max: 0x40000 }),
      fc.nat({ max: 64 }),
      fc.integer({ min: 1, max: 4 }),
      (at, from, edge, limit) => {
        const b = new Uint8Array(size);
        const sig = (PERSISTENT_RAM_SIG ^ 0x060100) >>> 0;
        // Around the piece boundaries as seen from `from`, and anywhere.
        const spots = [...at, from + (64 << 10) - (edge % 12), from + (192 << 10) - (edge % 12)].filter((a) => a >= 0 && a + 12 <= size);
        for (const a of spots) new DataView(b.buffer).setUint32(a, sig, true);
        const mem = rawMemory(b, 0x1000000);
        const lo = 0x1000000 + from;
        const hi = 0x1000000 + size;
        const all = findFtraceSigs(mem, lo, hi);
        return JSON.stringify(findFtraceSigs(mem, lo, hi, limit)) === JSON.stringify(all.slice(0, limit));
      },
    ),
    { numRuns: 300, seed: 3 },
  );
  t.pass();
});
