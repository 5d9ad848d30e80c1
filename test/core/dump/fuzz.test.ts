// The readers' contract on damaged input: whatever the bytes, openDump and reads either work or
// throw a RamoopsError (typed, with an address or offset); never a RangeError, never a hang.
// Damage is applied to real files (the QEMU kdump fixture, flattened and plain) and to ELF
// files from our writer, concentrated on the headers and tables the readers parse.
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRamoopsError, openDump, type ByteSource } from '../../../src/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { writeElf } from './elf-writer.js';

const source = (b: Uint8Array): ByteSource => ({ size: b.length, read: (p, n) => b.subarray(p, p + n) });
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(repoRoot(), 'test', 'core', 'dump', 'fixtures', name)));

/** Opens and exercises a dump; true when everything that went wrong was a RamoopsError. */
function contract(bytes: Uint8Array, probes: readonly number[]): boolean {
  try {
    const mem = openDump(source(bytes));
    const ranges = mem.ranges();
    for (const r of ranges.slice(0, 4)) {
      try {
        mem.read(r.start, Math.min(8192, r.end - r.start));
      } catch (e) {
        if (!isRamoopsError(e)) throw e;
      }
    }
    for (const a of probes) {
      try {
        mem.read(a, 4096);
      } catch (e) {
        if (!isRamoopsError(e)) throw e;
      }
    }
    return true;
  } catch (e) {
    return isRamoopsError(e);
  }
}

const mutations = (limit: number) =>
  fc.array(fc.record({ at: fc.nat({ max: limit - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 });

function mutate(base: Uint8Array, edits: readonly { at: number; value: number }[], cut?: number): Uint8Array {
  const b = base.slice(0, cut ?? base.length);
  for (const e of edits) if (e.at < b.length) b[e.at] = e.value;
  return b;
}

const probes = [0, 0x200000, 0x1000000, 0x2fff000, 0xfffc0000];

test('kdump: damaged header, sub header, bitmaps and descriptors give typed errors only', (t) => {
  const base = fixture('qemu-zlib.kdump');
  // Header block, sub header block, bitmaps and the first descriptors live in the first 64 KiB.
  fc.assert(
    fc.property(mutations(64 * 1024), fc.option(fc.nat({ max: base.length }), { nil: undefined }), (edits, cut) => contract(mutate(base, edits, cut), probes)),
    { numRuns: 300 },
  );
  t.pass();
});

test('flattened kdump: damaged record headers give typed errors only', (t) => {
  const base = fixture('qemu-zlib.flat');
  fc.assert(
    fc.property(mutations(16 * 1024), fc.option(fc.nat({ max: base.length }), { nil: undefined }), (edits, cut) => contract(mutate(base, edits, cut), probes)),
    { numRuns: 200 },
  );
  t.pass();
});

test('ELF: damaged headers give typed errors only', (t) => {
  const data = new Uint8Array(0x3000).fill(0x5a);
  for (const [bits, le] of [
    [64, true],
    [32, false],
  ] as const) {
    const base = writeElf({
      bits,
      littleEndian: le,
      loads: [
        { paddr: 0x1000, data },
        { paddr: 0x10000, data: data.subarray(0, 0x800), memsz: 0x2000 },
      ],
      notes: [{ name: 'VMCOREINFO', type: 0, desc: new TextEncoder().encode('PAGESIZE=4096\n') }],
    });
    fc.assert(
      fc.property(mutations(256), fc.option(fc.nat({ max: base.length }), { nil: undefined }), (edits, cut) =>
        contract(mutate(base, edits, cut), [0x1000, 0x10000]),
      ),
      { numRuns: 500 },
    );
  }
  t.pass();
});
