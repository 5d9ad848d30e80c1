// Our DTB reader/writer against dtc: blobs dtc makes are read and written back byte for byte,
// blobs we write decompile with dtc to the same tree, and malformed blobs fail only with
// ConfigError naming the offset.
import test from 'ava';
import fc from 'fast-check';
import { ConfigError } from '../../../src/errors.js';
import { parseDts } from '../../../src/dt/dts.js';
import { FDT_MAGIC, readFdt, writeFdt } from '../../../src/dt/fdt.js';
import { cellBytes, getProp, nodeAtPath, propCells, propStrings, stringBytes, type DeviceTree } from '../../../src/dt/tree.js';
import { dtcCompile, dtcDecompile, haveDtc } from '../../helpers/dtc.js';
import { CHROMEBOOK, SYNTAX_TOUR, VIRT_RAMOOPS } from './samples.js';

const SAMPLES = { VIRT_RAMOOPS, SYNTAX_TOUR, CHROMEBOOK } as const;
const dtcTest = haveDtc ? test : test.skip;
if (!haveDtc) {
  test('dtc is installed for the cross-checks (apt-get install device-tree-compiler)', (t) => {
    t.log('dtc not found: cross-checks skipped');
    t.pass();
  });
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

for (const [name, dts] of Object.entries(SAMPLES)) {
  dtcTest(`${name}: a blob dtc compiled is read and written back byte for byte`, (t) => {
    const blob = dtcCompile(dts);
    t.true(eq(writeFdt(readFdt(blob)), blob));
  });

  dtcTest(`${name}: our .dts parser gives the very blob dtc gives`, (t) => {
    t.true(eq(writeFdt(parseDts(dts)), dtcCompile(dts)));
  });

  dtcTest(`${name}: dtc decompiles what we write into the same tree`, (t) => {
    const ours = writeFdt(parseDts(dts));
    const back = dtcDecompile(ours);
    t.regex(back, /^\/dts-v1\/;/);
    t.deepEqual(parseDts(back), readFdt(ours));
  });
}

test('a tree written and read again is the same tree (no dtc needed)', (t) => {
  const tree = parseDts(VIRT_RAMOOPS);
  t.deepEqual(readFdt(writeFdt(tree)), tree);
});

test('reader: header fields, reservations, strings and cells', (t) => {
  const tree = readFdt(writeFdt(parseDts(VIRT_RAMOOPS)));
  t.deepEqual(tree.memReserve, [{ address: 0x48000000n, size: 0x100000n }]);
  const node = nodeAtPath(tree, '/reserved-memory/ramoops@50000000');
  t.truthy(node);
  if (!node) return;
  t.deepEqual(propStrings(getProp(node, 'compatible') ?? { name: '', value: new Uint8Array() }), ['ramoops']);
  t.deepEqual(propCells(getProp(node, 'reg') ?? { name: '', value: new Uint8Array() }), [0, 0x50000000, 0, 0x100000]);
  t.is(getProp(node, 'no-map')?.value.length, 0);
});

test('writer: property names share the string table by suffix, as dtc does', (t) => {
  const tree: DeviceTree = {
    root: {
      name: '',
      properties: [
        { name: '#size-cells', value: cellBytes([1]) },
        { name: 'size-cells', value: cellBytes([2]) },
        { name: 'cells', value: cellBytes([3]) },
      ],
      children: [],
    },
    memReserve: [],
    bootCpuidPhys: 0,
  };
  const blob = writeFdt(tree);
  const dv = new DataView(blob.buffer);
  t.is(dv.getUint32(32, false), '#size-cells\0'.length, 'one string for three names');
  t.deepEqual(readFdt(blob), tree);
});

test('writer: boot_cpuid_phys and 64-bit reservations survive', (t) => {
  const tree: DeviceTree = {
    root: { name: '', properties: [{ name: 'x', value: stringBytes('a', 'b') }], children: [] },
    memReserve: [{ address: 0x1_0000_0000n, size: 0x2000n }],
    bootCpuidPhys: 3,
  };
  t.deepEqual(readFdt(writeFdt(tree)), tree);
});

const blob = writeFdt(parseDts(VIRT_RAMOOPS));
const patched = (at: number, v: number, src = blob): Uint8Array => {
  const b = src.slice();
  new DataView(b.buffer).setUint32(at, v, false);
  return b;
};
const u32At = (at: number): number => new DataView(blob.buffer).getUint32(at, false);

test('malformed blobs: each fails with ConfigError naming the problem', (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', blob.slice(0, 20), /too short/],
    ['bad magic', patched(0, 0x12345678), /bad magic 0x12345678/],
    ['totalsize past the data', patched(4, blob.length + 100), /totalsize/],
    ['future version', patched(24, 18), /version/],
    ['strings block out of range', patched(32, 0xffff), /strings block/],
    ['unknown token', patched(u32At(8), 0x7), /unknown structure token 0x7/],
    ['structure block cut short', patched(36, 8), /ends without FDT_END/],
    ['property name offset outside the strings', patched(u32At(8) + 16, 0xfff0), /name offset/],
  ];
  for (const [what, bytes, re] of cases) {
    const e = t.throws(() => readFdt(bytes), { instanceOf: ConfigError }, what);
    t.regex(e?.message ?? '', re, what);
  }
});

test('fuzz: any mutation of a valid blob gives a tree or a ConfigError, nothing else', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(blob.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = blob.slice();
      for (const [at, v] of edits) b[at] = v;
      try {
        readFdt(b);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
  t.is(new DataView(blob.buffer).getUint32(0, false), FDT_MAGIC);
});
