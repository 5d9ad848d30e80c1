// Error rules: every way the kernel refuses or disables ramoops, with the kernel's message
// where it logs one, and the exit codes CI sees. Messages marked "seen" were logged by Debian's
// 6.1.0-56-amd64 kernel booted by the harness (ramoops run, or runCycles with an overriding
// ramoops word) with exactly that configuration.
import test from 'ava';
import { buildConfig } from '../../../src/config/build.js';
import type { RamoopsConfig } from '../../../src/config/types.js';
import { exitCode } from '../../../src/validate/types.js';
import { validate, validateSettings } from '../../../src/validate/validate.js';
import { expectNo, expectProblem, fromCmdline, fromDts, GOOD, virtDts } from './helpers.js';

const base = 'ramoops.mem_address=0x8000000 memmap=0x100000$0x8000000';

test('a good configuration has no errors and a layout', (t) => {
  const r = fromCmdline(GOOD, { kernel: '6.12.117' });
  t.truthy(r.layout);
  t.deepEqual(
    r.problems.filter((p) => p.severity === 'error'),
    [],
  );
  t.is(exitCode(r.problems, true), 0);
});

test('no-mem-size: no region size (module path registers nothing; DT reg size 0 fails probe)', (t) => {
  const r = fromCmdline(base);
  expectProblem(t, r, 'no-mem-size', 'error');
  t.is(r.layout, undefined);
  t.is(exitCode(r.problems, false), 2);
  const dt = fromDts(virtDts('record-size = <0x4000>;').replace('0x0 0x100000>', '0x0 0x0>'));
  const p = expectProblem(t, dt, 'no-mem-size', 'error');
  t.regex(p.message, /reg|size/);
  // A hand-built config with size 0 goes through the probe check itself.
  const c: RamoopsConfig = { ...buildConfig({ memAddress: 0, memSize: 1 }).config, memSize: 0, source: 'dt' };
  t.is(expectProblem(t, validate({ config: c, source: 'dt' }), 'no-mem-size').kernelMessage, 'The memory size and the record/console size must be non-zero');
});

test('no-mem-address: the kernel would use physical address 0', (t) => {
  expectProblem(t, fromCmdline('ramoops.mem_size=0x100000'), 'no-mem-address', 'error');
});

test('all-sizes-zero: the kernel message, and the DT hint that sizes default to 0 there', (t) => {
  const p = expectProblem(
    t,
    fromCmdline(`${base} ramoops.mem_size=0x100000 ramoops.record_size=0 ramoops.console_size=0 ramoops.ftrace_size=0 ramoops.pmsg_size=0`),
    'all-sizes-zero',
    'error',
  );
  t.is(p.kernelMessage, 'The memory size and the record/console size must be non-zero', 'seen');
  const dt = expectProblem(t, fromDts(virtDts('')), 'all-sizes-zero', 'error');
  t.regex(dt.fix, /record-size = <0x4000>;/);
});

test('no-room: the message a real 6.1 boot printed for a region too small for its zones', (t) => {
  const r = fromCmdline('ramoops.mem_address=0x3000000 ramoops.mem_size=0x2000 memmap=0x2000$0x3000000', { kernel: '6.1.0-56-amd64' });
  const p = expectProblem(t, r, 'no-room', 'error');
  t.is(p.kernelMessage, 'no room for dmesg mem region (0xfffffffffffff000@0x3000000) in (0x2000@0x3000000)', 'seen (also at 0x8000000 in a harness run)');
  t.regex(p.fix, /mem_size at least 0x4000/);
  const console = expectProblem(
    t,
    fromCmdline(`${base} ramoops.mem_size=0x2000 ramoops.record_size=0 ramoops.console_size=0x4000 ramoops.ftrace_size=0 ramoops.pmsg_size=0`),
    'no-room',
  );
  t.is(console.kernelMessage, 'no room for console mem region (0x4000@0x8000000) in (0x2000@0x8000000)');
  t.deepEqual(console.zone, { kind: 'console', index: 0 });
  t.is(expectProblem(t, fromCmdline(`${base} ramoops.mem_size=0x2000`, { kernel: '4.9.337' }), 'no-room').kernelMessage, 'no room for dumps');
});

test('dmesg-count-zero: less than one record left after the other zones', (t) => {
  const p = expectProblem(
    t,
    fromCmdline(`${base} ramoops.mem_size=0x10000 ramoops.record_size=0x8000 ramoops.console_size=0x4000 ramoops.ftrace_size=0x4000 ramoops.pmsg_size=0x1000`),
    'dmesg-count-zero',
    'error',
  );
  t.is(p.kernelMessage, 'dmesg record count == 0 (28672 / 32768)', 'seen');
});

test('zone-size-zero: per-CPU ftrace zones of 0 bytes for the CPU count', (t) => {
  const r = fromCmdline(`${base} ramoops.mem_size=0x100000 ramoops.ftrace_size=4`, { cpus: 8 });
  const p = expectProblem(t, r, 'zone-size-zero', 'error');
  t.is(p.kernelMessage, 'ftrace record size == 0 (4 / 8)');
  t.regex(p.fix, /0x8000/);
  // 8 bytes over 8 CPUs is 1 byte each, which the even-size rule (6.6+) makes 0.
  t.is(
    expectProblem(t, fromCmdline(`${base} ramoops.mem_size=0x100000 ramoops.ftrace_size=8`, { cpus: 8, kernel: '6.6.87' }), 'zone-size-zero').kernelMessage,
    'ftrace zone size == 0',
  );
  expectNo(t, fromCmdline(`${base} ramoops.mem_size=0x100000 ramoops.ftrace_size=8`, { cpus: 8, kernel: '6.2.1' }), 'zone-size-zero');
  // Seen: ftrace_size=1 on one CPU, Debian 6.1 (even sizes): "ftrace zone size == 0".
  t.is(
    expectProblem(t, fromCmdline(`${GOOD} ramoops.ftrace_size=1`, { cpus: 1, kernel: '6.1.0-56-amd64' }), 'zone-size-zero').kernelMessage,
    'ftrace zone size == 0',
  );
});

test('ecc-invalid: parity that leaves no data in a zone', (t) => {
  const p = expectProblem(t, fromCmdline(`${base} ramoops.mem_size=0x10000 ramoops.record_size=256 ramoops.ecc=127`), 'ecc-invalid', 'error');
  t.is(p.kernelMessage, 'persistent_ram_init_ecc: invalid ecc_size 127 (total 254, buffer size 244)', 'seen');
  t.deepEqual(p.zone, { kind: 'dmesg', index: 0 });
});

test('ecc-out-of-range: more than 127 parity bytes (module parameter or DT), or negative', (t) => {
  // Seen with ramoops.ecc=200: the next boot's probe dies in decode_rs8.
  t.is(
    expectProblem(t, fromCmdline(`${base} ramoops.mem_size=0x100000 ramoops.ecc=200`), 'ecc-out-of-range', 'error').kernelMessage,
    'kernel BUG at lib/reed_solomon/decode_rs.c:43!',
  );
  // Seen with ramoops.ecc=-5: "invalid ecc_size 4294967291".
  t.regex(expectProblem(t, fromCmdline(`${base} ramoops.mem_size=0x100000 ramoops.ecc=-5`), 'ecc-out-of-range').message, /4294967291/);
  expectProblem(t, fromDts(virtDts('record-size = <0x4000>; ecc-size = <128>;')), 'ecc-out-of-range', 'error');
  const c: RamoopsConfig = { ...buildConfig({ memAddress: 0x8000000, memSize: 0x100000 }).config, eccSize: 255 };
  expectProblem(t, validate({ config: c, source: 'json' }), 'ecc-out-of-range', 'error');
});

test('zone-too-small: zones that cannot hold their 12-byte header', (t) => {
  const p = expectProblem(
    t,
    fromCmdline(`${base} ramoops.mem_size=0x100 ramoops.record_size=8 ramoops.console_size=0 ramoops.ftrace_size=0 ramoops.pmsg_size=0`),
    'zone-too-small',
    'error',
  );
  t.is(p.kernelMessage, 'cannot allocate pstore crash dump buffer', 'seen');
});

test('config-invalid: a setting no kernel has (0 CPUs)', (t) => {
  expectProblem(t, validateSettings({ settings: { memAddress: 0x8000000, memSize: 0x100000, cpus: 0 }, source: 'json' }), 'config-invalid', 'error');
});

test('dt-value-overflow: u32 values above INT_MAX, with the kernel message', (t) => {
  const r = fromDts(virtDts('record-size = <0x4000>; console-size = <0x80000000>;'));
  const p = expectProblem(t, r, 'dt-value-overflow', 'error');
  t.is(p.kernelMessage, 'console-size 2147483648 > INT_MAX');
  t.is(r.layout, undefined, 'probe fails, so there is no layout');
  t.is(exitCode(r.problems, false), 2);
});

test('dt-bad-property: an empty or short u32 property', (t) => {
  t.is(expectProblem(t, fromDts(virtDts('record-size;')), 'dt-bad-property', 'error').kernelMessage, 'failed to parse property record-size: -75');
});

test('dt-no-reg: no usable reg', (t) => {
  const r = fromDts(virtDts('record-size = <0x4000>;').replace(/reg = <[^>]*>;/, ''));
  t.is(expectProblem(t, r, 'dt-no-reg', 'error').kernelMessage, 'failed to locate DT /reserved-memory resource');
  expectNo(t, r, 'no-mem-size');
});

test('dt-disabled: status = "disabled" means no probe at all', (t) => {
  expectProblem(t, fromDts(virtDts('record-size = <0x4000>; status = "disabled";')), 'dt-disabled', 'error');
});

test('exit codes: errors 2; warnings 1 only with --strict; notes never', (t) => {
  const warn = fromCmdline('ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000', { kernel: '6.12.117' });
  t.true(warn.problems.some((p) => p.severity === 'warning'));
  t.false(warn.problems.some((p) => p.severity === 'error'));
  t.is(exitCode(warn.problems, false), 0);
  t.is(exitCode(warn.problems, true), 1);
  t.is(exitCode([{ severity: 'info', code: 'oops-not-stored', message: 'x', fix: 'y' }], true), 0);
});

test('problems come errors first, then warnings, then notes', (t) => {
  const r = fromCmdline('ramoops.mem_address=0x8000000 ramoops.mem_size=0x2000 ramoops.record_size=5000');
  const order = r.problems.map((p) => p.severity);
  t.deepEqual(
    order,
    [...order].sort((a, b) => ['error', 'warning', 'info'].indexOf(a) - ['error', 'warning', 'info'].indexOf(b)),
  );
  t.is(order[0], 'error');
});
