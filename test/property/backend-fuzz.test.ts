// Fuzz contract for the backend stores: mutated and truncated copies of the real ERST and EFI
// captures give files or typed errors, never anything else, never a hang, and every file name
// stays a plain pstore name.
import test from 'ava';
import fc from 'fast-check';
import { extractBackend, isRamoopsError, parseKernelVersion } from '../../src/index.js';
import { readVariableStore } from '../../src/backends/efi-varstore.js';
import { backendFixture } from '../helpers/backend-fixtures.js';

const SAFE = /^[a-z-]+-(erst|efi|efi_pstore)-\d+(\.enc\.z)?$/;
const HANG_MS = 10_000;

/** Where mutations hurt most: store headers, CPER header fields, variable headers. */
function hotOffsets(name: string, bytes: Uint8Array): number[] {
  if (name.includes('erst')) {
    const fields = [0, 4, 6, 10, 16, 20, 24, 64, 96, 144, 200];
    return [0, 8, 12, 16, 20, 24, 32, 40, ...[0x2000, 0x4000].flatMap((s) => fields.map((f) => s + f))];
  }
  const vars = readVariableStore(bytes, []).variables;
  return [
    0x10,
    0x20,
    0x28,
    0x30,
    0x48,
    0x58,
    ...vars.flatMap((v) => [v.offset, v.offset + 2, v.offset + 4, v.offset + 36, v.offset + 40, v.offset + 44, v.offset + 60]),
  ];
}

for (const name of ['deb61-erst-1panic', 'deb61-efi-1panic']) {
  const fx = backendFixture(name);
  const kernel = parseKernelVersion(fx.release);
  const hot = hotOffsets(name, fx.bytes);
  test(`${name}: 200 random mutations and truncations give files or typed errors`, (t) => {
    let slowest = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.constantFrom(...hot), fc.nat(fx.bytes.length - 1)), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 8 })), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.oneof(fc.constant(fx.bytes.length), fc.nat(fx.bytes.length)),
        (muts, keep) => {
          const b = Uint8Array.from(fx.bytes.subarray(0, keep));
          for (const [off, val, n] of muts) for (let i = 0; i < n && off + i < b.length; i++) b[off + i] = val;
          const t0 = Date.now();
          try {
            const x = extractBackend(fx.backend, b, { kernel });
            for (const f of x.files) if (!SAFE.test(f.name)) throw new Error(`unsafe name ${f.name}`);
          } catch (e) {
            if (!isRamoopsError(e)) throw e;
          }
          slowest = Math.max(slowest, Date.now() - t0);
        },
      ),
      { numRuns: 200, seed: 0xe5 + name.length },
    );
    t.log(`slowest extraction ${slowest} ms`);
    t.true(slowest < HANG_MS);
  });
}
