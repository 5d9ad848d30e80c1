// The .dts parser on its own: values, merges, references, and the errors for what it does not
// support (the byte-for-byte comparison with dtc is in fdt.test.ts).
import test from 'ava';
import { ConfigError } from '../../../src/errors.js';
import { parseDts } from '../../../src/dt/dts.js';
import { getProp, nodeAtPath, propCells, propStrings, type DtNode } from '../../../src/dt/tree.js';
import { SYNTAX_TOUR } from './samples.js';

const prop = (n: DtNode | undefined, name: string): Uint8Array => {
  const p = n ? getProp(n, name) : undefined;
  if (!p) throw new Error(`no ${name}`);
  return p.value;
};
const cells = (n: DtNode | undefined, name: string): readonly number[] | undefined => propCells({ name, value: prop(n, name) });

test('values: strings with escapes, bytes, mixed lists, /bits/', (t) => {
  const root = parseDts(SYNTAX_TOUR).root;
  t.deepEqual(propStrings({ name: 'model', value: prop(root, 'model') }), ['redefined in place']);
  t.deepEqual([...prop(root, 'bytes')], [0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc, 0xdd]);
  t.deepEqual([...prop(root, 'mixed')], [0x73, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0xff]);
  t.deepEqual([...prop(root, 'b8')], [1, 2, 0xff]);
  t.deepEqual([...prop(root, 'b16')], [0x12, 0x34, 0, 5]);
  t.deepEqual([...prop(root, 'b64')], [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 0, 0, 0, 0, 0, 0, 1]);
  t.is(prop(root, 'empty').length, 0);
});

test('expressions and character literals evaluate as in C (64-bit, truncated to the cell)', (t) => {
  const root = parseDts(SYNTAX_TOUR).root;
  t.deepEqual(cells(root, 'exprs'), [7, 4, 0xff, 0xffffffff, 7, 2, 0x80000000, 65, 1, 0xfffffffe]);
  t.deepEqual(cells(root, 'chars'), [97, 10, 32]);
  t.deepEqual(cells(root, 'octal'), [15, 0, 0]);
});

test('merges: redefinition in place, later additions, &label extension, deletions', (t) => {
  const tree = parseDts(SYNTAX_TOUR);
  t.deepEqual(tree.root.properties.map((p) => p.name).slice(0, 3), ['#address-cells', '#size-cells', 'model']);
  t.is(tree.root.properties[tree.root.properties.length - 1]?.name, 'late');
  const node = nodeAtPath(tree, '/node@1');
  t.deepEqual(
    node?.properties.map((p) => p.name),
    ['reg', 'z', 'phandle'],
  );
  t.deepEqual(
    node?.children.map((c) => c.name),
    ['child'],
  );
  const child = nodeAtPath(tree, '/node@1/child');
  t.deepEqual(cells(child, 'x'), [2]);
  t.truthy(child && getProp(child, 'extra'));
});

test('references: phandles allocated like dtc (skipping explicit ones), paths as strings', (t) => {
  const tree = parseDts(SYNTAX_TOUR);
  const holder = nodeAtPath(tree, '/ref-holder');
  // `explicit` holds phandle 1, so node@1 gets 2 and its child 3.
  t.deepEqual(cells(holder, 'ph'), [2, 3, 2]);
  t.deepEqual(cells(nodeAtPath(tree, '/node@1'), 'phandle'), [2]);
  t.deepEqual(propStrings({ name: 'path', value: prop(holder, 'path') }), ['/node@1/child']);
  t.deepEqual(propStrings({ name: 'path2', value: prop(holder, 'path2') }), ['/node@1']);
});

const bad: readonly [string, string, RegExp][] = [
  [
    '#include',
    '/dts-v1/;\n#include <dt-bindings/gpio/gpio.h>\n/ { };',
    /dts:2:1: C preprocessor directive "#include" is not supported: run the file through `cpp/,
  ],
  ['#define', '/dts-v1/;\n  #define X 1\n/ { };', /dts:2:3: .*"#define"/],
  ['/include/', '/dts-v1/;\n/include/ "other.dtsi"\n/ { };', /\/include\/ is not supported/],
  ['/plugin/', '/dts-v1/;\n/plugin/;\n/ { };', /overlays/],
  ['no header', '/ { };', /expected \/dts-v1\/;/],
  ['unterminated node', '/dts-v1/;\n/ { a = <1>;', /missing }/],
  ['unterminated comment', '/dts-v1/;\n/* x', /unterminated comment/],
  ['undefined label', '/dts-v1/;\n/ { a = <&nope>; };', /dts:2:10: reference to undefined label "nope"/],
  ['value too large', '/dts-v1/;\n/ { a = <0x100000000>; };', /does not fit in 32 bits/],
  ['duplicate property', '/dts-v1/;\n/ { a; a; };', /duplicate property "a"/],
  ['property after subnode', '/dts-v1/;\n/ { n { }; a; };', /properties must precede subnodes/],
  ['bad /bits/', '/dts-v1/;\n/ { a = /bits/ 12 <1>; };', /only 8, 16, 32 and 64/],
];
for (const [what, src, re] of bad) {
  test(`errors: ${what}`, (t) => {
    const e = t.throws(() => parseDts(src), { instanceOf: ConfigError });
    t.regex(e?.message ?? '', re);
  });
}

test('a #address-cells property is not mistaken for a preprocessor line', (t) => {
  const tree = parseDts('/dts-v1/;\n/ {\n#address-cells = <2>;\n  #size-cells = <1>;\n};');
  t.deepEqual(cells(tree.root, '#address-cells'), [2]);
});
