// Settings from a ramoops DT node, following ramoops_parse_dt per kernel version, and the
// ramoops node writer the arm64 harness uses (read back by our reader and by dtc).
import test from 'ava';
import { buildConfig } from '../../../src/config/build.js';
import { ramoopsFromDt, ramoopsNodeFromDt } from '../../../src/config/from-dt.js';
import { ConfigError } from '../../../src/errors.js';
import { parseKernelVersion } from '../../../src/kernel/version.js';
import { parseDts } from '../../../src/dt/dts.js';
import { readFdt, writeFdt } from '../../../src/dt/fdt.js';
import { withRamoopsNode } from '../../../src/dt/ramoops-node.js';
import { dtcDecompile, haveDtc } from '../../helpers/dtc.js';
import { CHROMEBOOK, VIRT_RAMOOPS } from './samples.js';

const v = parseKernelVersion;
/** A 1/1-cell tree with one ramoops node holding `props`, under `parent` (default reserved-memory). */
const tree = (props: string, opts: { parent?: string; rmProps?: string; rootProps?: string } = {}): string => `/dts-v1/;
/ {
	${opts.rootProps ?? '#address-cells = <1>; #size-cells = <1>;'}
	${opts.parent ?? 'reserved-memory'} {
		${opts.rmProps ?? '#address-cells = <1>; #size-cells = <1>; ranges;'}
		ramoops@8000000 {
			compatible = "ramoops";
			reg = <0x8000000 0x100000>;
			${props}
		};
	};
};`;
const node = (props: string, kernel?: string, opts?: Parameters<typeof tree>[1]) =>
  ramoopsNodeFromDt(parseDts(tree(props, opts)), kernel ? v(kernel) : undefined);

test('a full node: every property as the kernel reads it', (t) => {
  const n = ramoopsNodeFromDt(parseDts(VIRT_RAMOOPS));
  t.is(n.path, '/reserved-memory/ramoops@50000000');
  t.deepEqual(n.settings, {
    memAddress: 0x50000000,
    memSize: 0x100000,
    memType: 2,
    recordSize: 0x4000,
    consoleSize: 0x10000,
    ftraceSize: 0x8000,
    pmsgSize: 0x4000,
    ecc: 16,
    ftracePerCpu: true,
    maxReason: 4,
  });
  t.like(n, {
    underReservedMemory: true,
    reservedMemoryAccepted: true,
    regReservable: true,
    noMap: true,
    parentName: 'reserved-memory',
    coveredByMemreserve: false,
  });
  t.deepEqual(n.refusals, []);
});

test('DT defaults: sizes 0, one ftrace zone, oops+panic, write-combine', (t) => {
  const n = node('console-size = <0x1000>;');
  t.like(n.settings, { recordSize: 0, consoleSize: 0x1000, ftraceSize: 0, pmsgSize: 0, ecc: 0, ftracePerCpu: false, maxReason: 2, memType: 0 });
  const c = buildConfig(n.settings, 'dt').config;
  t.like(c, { recordSize: 0, pmsgSize: 0, ftracePerCpu: false, source: 'dt' });
});

test('ecc-size is literal: 1 stays 1 on the DT path (16 only on the module path)', (t) => {
  const n = node('record-size = <0x1000>; ecc-size = <1>;');
  t.is(n.settings.ecc, 1);
  t.is(buildConfig(n.settings, 'dt').config.eccSize, 1);
  t.is(buildConfig(n.settings, 'modparams').config.eccSize, 16);
});

test('unbuffered gives mem_type 1; mem-type wins from 5.15 and is ignored before', (t) => {
  t.is(node('record-size = <0x1000>; unbuffered;').settings.memType, 1);
  t.is(node('record-size = <0x1000>; unbuffered; mem-type = <2>;', '5.15.16').settings.memType, 2);
  t.is(node('record-size = <0x1000>; unbuffered; mem-type = <2>;', '5.10.89').settings.memType, 1);
  t.is(node('record-size = <0x1000>; mem-type = <2>;', '5.10.89').settings.memType, 0);
});

test('no-dump-oops gives Panic only; max-reason wins from 5.8 and is ignored before', (t) => {
  t.is(node('record-size = <0x1000>; no-dump-oops;').settings.maxReason, 1);
  t.is(node('record-size = <0x1000>; no-dump-oops; max-reason = <3>;', '5.8.1').settings.maxReason, 3);
  t.is(node('record-size = <0x1000>; no-dump-oops; max-reason = <3>;', '5.7.14').settings.maxReason, 1);
});

test('flags bit 0 is per-CPU ftrace (4.10+); other bits do not matter; 4.9 has no flags', (t) => {
  t.true(node('ftrace-size = <0x1000>; flags = <0x3>;').settings.ftracePerCpu);
  t.false(node('ftrace-size = <0x1000>; flags = <0x2>;').settings.ftracePerCpu);
  t.false(node('ftrace-size = <0x1000>; flags = <0x1>;', '4.9.337').settings.ftracePerCpu);
});

test('old-Chromebook rule (5.4+): not under reserved-memory and no other sizes -> console = pmsg = record', (t) => {
  const dt = parseDts(CHROMEBOOK);
  const n = ramoopsNodeFromDt(dt, v('5.4.286'));
  t.like(n.settings, { recordSize: 0x20000, consoleSize: 0x20000, pmsgSize: 0x20000, ftraceSize: 0 });
  t.like(n, { parentName: '', underReservedMemory: false });
  t.regex(n.notes.join('\n'), /old-Chromebook rule/);
  t.like(ramoopsNodeFromDt(dt, v('4.19.222')).settings, { consoleSize: 0, pmsgSize: 0 });
  // Any non-zero console/ftrace/pmsg/ecc size switches the rule off.
  t.like(node('record-size = <0x4000>; ecc-size = <16>;', '6.1.158', { parent: 'soc' }).settings, { consoleSize: 0, pmsgSize: 0 });
  t.like(node('record-size = <0x4000>;', '6.1.158', { parent: 'soc' }).settings, { consoleSize: 0x4000, pmsgSize: 0x4000 });
  // Under reserved-memory the rule never applies.
  t.like(node('record-size = <0x4000>;', '6.1.158').settings, { consoleSize: 0, pmsgSize: 0 });
});

test('u32 values above INT_MAX are refused with the kernel message', (t) => {
  const n = node('record-size = <0x80000000>; console-size = <0x1000>;');
  t.deepEqual(n.refusals, [{ code: 'dt-value-overflow', property: 'record-size', message: 'record-size 2147483648 > INT_MAX' }]);
  t.deepEqual(
    node('max-reason = <0xffffffff>; record-size = <0x1000>;').refusals.map((r) => r.message),
    ['max-reason 4294967295 > INT_MAX'],
  );
  t.deepEqual(node('record-size = <0x7fffffff>;').refusals, []);
});

test('properties of the wrong length are refused as of_property_read_u32 fails', (t) => {
  // Seen on Debian 6.1 arm64: an empty FDT property is too short (-EOVERFLOW), not missing data.
  t.deepEqual(
    node('record-size;').refusals.map((r) => r.message),
    ['failed to parse property record-size: -75'],
  );
  t.deepEqual(
    node('record-size = [01 02];').refusals.map((r) => r.message),
    ['failed to parse property record-size: -75'],
  );
  // Longer than a u32: the first cell is used.
  t.is(node('record-size = <0x2000 0x1>;').settings.recordSize, 0x2000);
});

test('reg: missing, too short, or not translatable is "failed to locate DT /reserved-memory resource"', (t) => {
  const noReg = ramoopsNodeFromDt(
    parseDts(
      '/dts-v1/; / { #address-cells = <1>; #size-cells = <1>; reserved-memory { #address-cells = <1>; #size-cells = <1>; ranges; r { compatible = "ramoops"; record-size = <4096>; }; }; };',
    ),
  );
  t.is(noReg.refusals[0]?.code, 'dt-no-reg');
  t.regex(noReg.refusals[0]?.message ?? '', /^failed to locate DT \/reserved-memory resource/);
  t.regex(
    node('record-size = <4096>;', undefined, { rmProps: '#address-cells = <2>; #size-cells = <2>; ranges;' }).refusals[0]?.message ?? '',
    /less than one entry of 2\+2 cells/,
  );
  t.regex(node('record-size = <4096>;', undefined, { rmProps: '#address-cells = <1>; #size-cells = <1>;' }).refusals[0]?.message ?? '', /no `ranges`/);
});

test('cell counts: the parent, else the nearest ancestor, else 1 and 1 like Linux', (t) => {
  const inherit = node('record-size = <4096>;', undefined, { rmProps: 'ranges;', rootProps: '#address-cells = <1>; #size-cells = <1>;' });
  t.like(inherit.settings, { memAddress: 0x8000000, memSize: 0x100000 });
  t.false(inherit.reservedMemoryAccepted, 'the early scan wants the cells on /reserved-memory itself');
  const none = node('record-size = <4096>;', undefined, { rmProps: 'ranges;', rootProps: '' });
  t.like(none.settings, { memAddress: 0x8000000, memSize: 0x100000 });
  const twoTwo = ramoopsNodeFromDt(parseDts(VIRT_RAMOOPS));
  t.is(twoTwo.settings.memAddress, 0x50000000);
});

test('reservation facts: /reserved-memory format, no-map, /memreserve/ coverage, status, several nodes', (t) => {
  t.false(node('record-size = <4096>;', undefined, { rmProps: '#address-cells = <1>; #size-cells = <2>; ranges;' }).reservedMemoryAccepted);
  t.false(node('record-size = <4096>;').noMap);
  const covered = ramoopsNodeFromDt(parseDts(tree('record-size = <4096>;').replace('/ {', '/memreserve/ 0x8000000 0x100000;\n/ {')));
  t.true(covered.coveredByMemreserve);
  t.is(node('record-size = <4096>; status = "disabled";').refusals[0]?.code, 'dt-disabled');
  t.deepEqual(node('record-size = <4096>; status = "okay";').refusals, []);
  const two = ramoopsFromDt(parseDts(tree('record-size = <4096>;').replace('reserved-memory {', 'other { compatible = "ramoops"; };\n\treserved-memory {')));
  t.is(two.length, 2);
  t.deepEqual(two[1]?.otherNodes, ['/other']);
  t.throws(() => ramoopsNodeFromDt(parseDts('/dts-v1/; / { };')), { instanceOf: ConfigError, message: /no node with compatible = "ramoops"/ });
});

test('withRamoopsNode: adds a conforming node to a virt-like tree; it reads back to the same settings', (t) => {
  const virt = parseDts(
    '/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; compatible = "linux,dummy-virt"; memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x20000000>; }; };',
  );
  const spec = { address: 0x50000000, size: 0x100000, recordSize: 0x4000, consoleSize: 0x4000, pmsgSize: 0x4000, eccSize: 16, maxReason: 2, flags: 1 };
  const out = readFdt(writeFdt(withRamoopsNode(virt, spec)));
  const n = ramoopsNodeFromDt(out);
  t.like(n, { path: '/reserved-memory/ramoops@50000000', underReservedMemory: true, reservedMemoryAccepted: true, noMap: true, regReservable: true });
  t.like(n.settings, {
    memAddress: 0x50000000,
    memSize: 0x100000,
    recordSize: 0x4000,
    consoleSize: 0x4000,
    ftraceSize: 0,
    pmsgSize: 0x4000,
    ecc: 16,
    maxReason: 2,
    ftracePerCpu: true,
  });
  // Replacing keeps one node.
  const again = withRamoopsNode(out, { ...spec, address: 0x60000000 });
  t.deepEqual(
    ramoopsFromDt(again).map((r) => r.path),
    ['/reserved-memory/ramoops@60000000'],
  );
  if (haveDtc) t.regex(dtcDecompile(writeFdt(again)), /ramoops@60000000 \{\s+compatible = "ramoops";\s+reg = <0x00 0x60000000 0x00 0x100000>;/);
  t.throws(() => withRamoopsNode(virt, { address: 0x50000000, size: 0x1000, recordSize: 0x80000000 }), { message: /INT_MAX/ });
});

test('withRamoopsNode: refuses a /reserved-memory the kernel would ignore', (t) => {
  const bad = parseDts('/dts-v1/; / { #address-cells = <2>; #size-cells = <2>; reserved-memory { #address-cells = <1>; #size-cells = <1>; ranges; }; };');
  t.throws(() => withRamoopsNode(bad, { address: 0x50000000, size: 0x1000 }), { instanceOf: ConfigError, message: /would ignore/ });
  const oneOne = parseDts('/dts-v1/; / { #address-cells = <1>; #size-cells = <1>; };');
  t.throws(() => withRamoopsNode(oneOne, { address: 0x1_0000_0000, size: 0x1000 }), { message: /does not fit/ });
});
