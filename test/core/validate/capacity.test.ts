// Capacity rules: rounded sizes, no dmesg zones, ECC overhead, records too small for an oops
// report, console zone smaller than a boot log, panic-only dumps, assumed CPU count.
import test from 'ava';
import { expectNo, expectProblem, fromCmdline, fromDts, GOOD, virtDts } from './helpers.js';

const r = (extra: string, opts = {}) => fromCmdline(`${GOOD} ${extra}`, { kernel: '6.12.117', cpus: 2, ...opts });

test('size-not-pow2: says what the kernel rounds to, in the name the user wrote', (t) => {
  const p = expectProblem(t, r('ramoops.console_size=0x5000'), 'size-not-pow2', 'warning');
  t.regex(p.message, /^console_size 0x5000 \(20 KiB\) is not a power of two: the kernel rounds it down to 0x4000 \(16 KiB\)/);
  t.regex(p.fix, /write 0x4000 \(or 0x8000\)/);
  t.regex(expectProblem(t, fromDts(virtDts('record-size = <5000>; no-map;')), 'size-not-pow2').message, /^record-size /);
  expectNo(t, r(''), 'size-not-pow2');
});

test('dmesg-disabled: record size 0 (the DT default) or no room left for records', (t) => {
  t.regex(
    expectProblem(t, fromDts(virtDts('console-size = <0x10000>; no-map;')), 'dmesg-disabled', 'warning').message,
    /on the DT path every size defaults to 0/,
  );
  t.regex(expectProblem(t, r('ramoops.record_size=0'), 'dmesg-disabled').message, /record_size is 0/);
  const full = fromCmdline(
    'memmap=0x4000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x3000 ramoops.console_size=0x1000 ramoops.ftrace_size=0x1000 ramoops.pmsg_size=0x1000',
    { kernel: '6.12.117' },
  );
  t.regex(expectProblem(t, full, 'dmesg-disabled').message, /fill the whole region/);
  expectNo(t, r(''), 'dmesg-disabled');
});

test('ecc-overhead: parity taking more than a quarter of a zone', (t) => {
  const p = expectProblem(t, r('ramoops.ecc=64'), 'ecc-overhead', 'warning');
  t.regex(p.message, /ECC \(64 parity bytes per 128-byte block\) takes 3\d% of each dmesg zone/);
  expectNo(t, r('ramoops.ecc=16'), 'ecc-overhead');
});

test('record-too-small: under 4 KiB of log text cuts the start of an oops report', (t) => {
  const p = expectProblem(t, r('ramoops.record_size=0x800'), 'record-too-small', 'warning');
  t.regex(p.message, /each dmesg record holds 2036 bytes after its header, about 3393 bytes of log text \(deflate work buffer\)/);
  t.deepEqual(p.zone, { kind: 'dmesg', index: 0 });
  t.regex(
    r('ramoops.record_size=0x800 pstore.compress=none', { kernel: '6.1.192' }).problems.find((q) => q.code === 'record-too-small')?.message ?? '',
    /uncompressed/,
  );
  expectNo(t, r('ramoops.record_size=0x4000'), 'record-too-small');
  // The kernel's default 4 KiB records are enough with compression, not without.
  expectNo(t, r('ramoops.record_size=0x1000'), 'record-too-small');
  expectProblem(t, r('ramoops.record_size=0x1000 pstore.compress=none'), 'record-too-small');
});

test('console-small: warning at the default loglevel, a note for quiet boots', (t) => {
  const loud = fromCmdline('memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.record_size=0x4000', {
    kernel: '6.12.117',
    cpus: 2,
  });
  t.regex(expectProblem(t, loud, 'console-small', 'warning').message, /the default console loglevel/);
  t.regex(expectProblem(t, r(''), 'console-small', 'info').message, /console loglevel 4/);
  expectProblem(t, r('ignore_loglevel'), 'console-small', 'warning');
  expectNo(t, r('ramoops.console_size=0x10000'), 'console-small');
});

test('oops-not-stored: max_reason 1 (module dump_oops=0 or DT no-dump-oops)', (t) => {
  expectProblem(t, r('ramoops.dump_oops=0'), 'oops-not-stored', 'info');
  expectProblem(t, fromDts(virtDts('record-size = <0x4000>; no-dump-oops; no-map;')), 'oops-not-stored', 'info');
  expectNo(t, r(''), 'oops-not-stored');
});

test('cpus-assumed: per-CPU ftrace without a CPU count', (t) => {
  expectProblem(t, fromCmdline(GOOD, { kernel: '6.12.117' }), 'cpus-assumed', 'info');
  expectNo(t, r(''), 'cpus-assumed');
  // DT without flags bit 0 has one ftrace zone: no CPU count needed.
  expectNo(t, fromDts(virtDts('record-size = <0x4000>; ftrace-size = <0x4000>; no-map;')), 'cpus-assumed');
});
