// Version rules: options whose effect changes between kernel versions.
import test from 'ava';
import { expectNo, expectProblem, fromCmdline, fromDts, GOOD, virtDts } from './helpers.js';
import { CHROMEBOOK } from '../dt/samples.js';

test('kernel-version-unknown: a note when no version is given', (t) => {
  expectProblem(t, fromCmdline(GOOD), 'kernel-version-unknown', 'info');
  expectNo(t, fromCmdline(GOOD, { kernel: '6.12.117' }), 'kernel-version-unknown');
});

test('version-zone-rounding: odd dmesg zone sizes move addresses between 6.1.x sublevels', (t) => {
  // The captures' configuration: 1 MiB, 16 KiB records, 4 KiB others -> 16449 before ALIGN, 16448 after.
  const deb = expectProblem(t, fromCmdline(GOOD, { kernel: '6.1.0-56-amd64', cpus: 1 }), 'version-zone-rounding', 'warning');
  t.regex(deb.message, /not known which; shown rounded/);
  t.regex(deb.fix, /mem_size 0xff000 gives 63 records of exactly 0x4000/);
  t.is(expectProblem(t, fromCmdline(GOOD, { kernel: '6.1.192', cpus: 1 }), 'version-zone-rounding').severity, 'info');
  t.regex(expectProblem(t, fromCmdline(GOOD, { kernel: '5.10.89', cpus: 1 }), 'version-zone-rounding').message, /this kernel does not round/);
  // An exact multiple needs no rounding anywhere.
  expectNo(t, fromCmdline(GOOD.replace('mem_size=0x100000', 'mem_size=0xff000'), { kernel: '6.1.0-56-amd64', cpus: 1 }), 'version-zone-rounding');
  // Per-CPU ftrace with 3 CPUs: 4096 / 3 = 1365, odd.
  const ft = expectProblem(
    t,
    fromCmdline(GOOD.replace('mem_size=0x100000', 'mem_size=0xff000'), { kernel: '6.1.0-56-amd64', cpus: 3 }),
    'version-zone-rounding',
  );
  t.deepEqual(ft.zone, { kind: 'ftrace', index: 0 });
});

test('version-zone-order: pmsg before ftrace from 6.2', (t) => {
  t.regex(expectProblem(t, fromCmdline(GOOD, { kernel: '6.1.192', cpus: 1 }), 'version-zone-order', 'info').message, /pmsg last/);
  t.regex(expectProblem(t, fromCmdline(GOOD, { kernel: '6.2.1', cpus: 1 }), 'version-zone-order', 'info').message, /pmsg first/);
  expectProblem(t, fromCmdline(GOOD), 'version-zone-order', 'warning');
  expectNo(t, fromCmdline(`${GOOD} ramoops.pmsg_size=0`, { kernel: '6.1.192' }), 'version-zone-order');
});

test('version-mem-type: DT mem-type needs 5.15', (t) => {
  const node = virtDts('record-size = <0x4000>; mem-type = <1>; no-map;');
  t.regex(
    expectProblem(t, fromDts(node, { kernel: '5.10.89' }), 'version-mem-type', 'warning').message,
    /5\.10\.89 ignores it and maps the region write-combined/,
  );
  expectProblem(t, fromDts(node), 'version-mem-type', 'info');
  expectNo(t, fromDts(node, { kernel: '5.15.16' }), 'version-mem-type');
});

test('version-max-reason: max_reason / max-reason need 5.8', (t) => {
  expectProblem(t, fromCmdline(`${GOOD} ramoops.max_reason=3`, { kernel: '5.4.286' }), 'version-max-reason', 'warning');
  expectNo(t, fromCmdline(`${GOOD} ramoops.max_reason=3`, { kernel: '5.8.1' }), 'version-max-reason');
  expectNo(t, fromCmdline(GOOD, { kernel: '5.4.286' }), 'version-max-reason');
  t.regex(
    expectProblem(t, fromDts(virtDts('record-size = <0x4000>; max-reason = <4>; no-dump-oops; no-map;'), { kernel: '5.7.14' }), 'version-max-reason').message,
    /only panics with no-dump-oops/,
  );
});

test('version-dt-flags: DT flags need 4.10', (t) => {
  expectProblem(
    t,
    fromDts(virtDts('record-size = <0x4000>; ftrace-size = <0x4000>; flags = <1>; no-map;'), { kernel: '4.9.337' }),
    'version-dt-flags',
    'warning',
  );
  expectNo(t, fromDts(virtDts('record-size = <0x4000>; ftrace-size = <0x4000>; flags = <1>; no-map;'), { kernel: '4.10.17', cpus: 2 }), 'version-dt-flags');
});

test('version-chromebook: the 5.4 rule for nodes outside reserved-memory', (t) => {
  expectProblem(t, fromDts(CHROMEBOOK), 'version-chromebook', 'warning');
  t.regex(expectProblem(t, fromDts(CHROMEBOOK, { kernel: '5.4.286' }), 'version-chromebook', 'info').message, /applied/);
  t.regex(expectProblem(t, fromDts(CHROMEBOOK, { kernel: '4.19.222' }), 'version-chromebook', 'info').message, /not applied/);
  expectNo(t, fromDts(virtDts('record-size = <0x4000>; no-map;')), 'version-chromebook');
});

test('version-sysfs-ecc: values read from sysfs before 6.19 do not show a DT ecc-size', (t) => {
  expectProblem(t, fromCmdline(GOOD, { kernel: '6.12.117', fromSysfs: true }), 'version-sysfs-ecc', 'info');
  expectNo(t, fromCmdline(GOOD, { kernel: '6.19.0', fromSysfs: true }), 'version-sysfs-ecc');
  expectNo(t, fromCmdline(GOOD, { kernel: '6.12.117' }), 'version-sysfs-ecc');
});
