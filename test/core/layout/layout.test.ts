// The probe arithmetic against the worked example of ramoops-format.md §1.3 and the kernel's
// own refusal message seen in a real boot (QEMU-NOTES.md).
import test from 'ava';
import { buildConfig, computeLayout, LayoutError, type LayoutRules } from '../../../src/index.js';

const cfg = buildConfig({ memAddress: 0, memSize: 0x100000, recordSize: 0x4000 }).config;
const rules = (r: Partial<LayoutRules>): LayoutRules => ({ post49: true, evenZones: false, pmsgFirst: false, ftraceZones: 3, ...r });
const summary = (r: LayoutRules) => {
  const l = computeLayout(cfg, r);
  const dmesg = l.zones.filter((z) => z.kind === 'dmesg');
  const others = l.zones.filter((z) => z.kind !== 'dmesg').map((z) => `${z.kind}@${z.offset.toString(16)}+${z.geometry.size}`);
  return { count: dmesg.length, dmesgSize: dmesg[0]?.geometry.size, others, unused: l.unused };
};

test('4.10..6.1 without the ALIGN backport (e.g. 5.10.89)', (t) => {
  t.deepEqual(summary(rules({})), {
    count: 63,
    dmesgSize: 16449,
    others: ['console@fcfff+4096', 'ftrace@fdfff+1365', 'ftrace@fe554+1365', 'ftrace@feaa9+1365', 'pmsg@feffe+4096'],
    unused: 2,
  });
});

test('6.6+: even zone sizes, pmsg before ftrace', (t) => {
  t.deepEqual(summary(rules({ evenZones: true, pmsgFirst: true })), {
    count: 63,
    dmesgSize: 16448,
    others: ['console@fcfc0+4096', 'pmsg@fdfc0+4096', 'ftrace@fefc0+1364', 'ftrace@ff514+1364', 'ftrace@ffa68+1364'],
    unused: 68,
  });
});

test('4.9: zones exactly record_size, one ftrace zone', (t) => {
  t.deepEqual(summary(rules({ post49: false })), {
    count: 63,
    dmesgSize: 16384,
    others: ['console@fc000+4096', 'ftrace@fd000+4096', 'pmsg@fe000+4096'],
    unused: 4096,
  });
});

test('sizes that are not powers of two are rounded down like the kernel', (t) => {
  const c = buildConfig({ memAddress: 0x1000, memSize: 0x10000, recordSize: 5000, consoleSize: 3000, ftraceSize: 0, pmsgSize: 0 }).config;
  const l = computeLayout(c, rules({ evenZones: true, ftraceZones: 1 }));
  t.is(l.recordSize, 4096);
  t.is(l.consoleSize, 2048);
  t.is(l.zones.find((z) => z.kind === 'console')?.geometry.size, 2048);
});

test('the kernel message for a region too small for its zones (seen on a real boot)', (t) => {
  const c = buildConfig({ memAddress: 0x3000000, memSize: 0x2000 }).config;
  const e = t.throws(() => computeLayout(c, rules({ evenZones: true, pmsgFirst: false, ftraceZones: 1 })), { instanceOf: LayoutError });
  t.is(e?.message, 'no room for dmesg mem region (0xfffffffffffff000@0x3000000) in (0x2000@0x3000000)');
});

test('all sizes zero is refused with the kernel message', (t) => {
  const c = buildConfig({ memAddress: 0, memSize: 0x10000, recordSize: 0, consoleSize: 0, ftraceSize: 0, pmsgSize: 0 }).config;
  t.throws(() => computeLayout(c, rules({})), { message: 'The memory size and the record/console size must be non-zero' });
});

test('ECC geometry of the doc examples (E=16)', (t) => {
  for (const [S, C] of [
    [4096, 3604],
    [16384, 14532],
    [65536, 58228],
    [2048, 1780],
  ] as const) {
    const c = buildConfig({ memAddress: 0, memSize: S, recordSize: S, consoleSize: 0, ftraceSize: 0, pmsgSize: 0, ecc: 16 }).config;
    t.is(computeLayout(c, rules({})).zones[0]?.geometry.capacity, C, `S=${S}`);
  }
});

test('an ECC size that leaves no data is refused as invalid ecc_size', (t) => {
  const c = buildConfig({ memAddress: 0, memSize: 256, recordSize: 256, consoleSize: 0, ftraceSize: 0, pmsgSize: 0, ecc: 127 }).config;
  t.throws(() => computeLayout(c, rules({})), { message: /invalid ecc_size 127/ });
});

test('absurd sizes are refused quickly instead of looping over billions of zones', (t) => {
  const c = buildConfig({ memAddress: 0, memSize: 2 ** 47, recordSize: 4096 }).config;
  t.throws(() => computeLayout(c, rules({ evenZones: true, ftraceZones: 1 })), { instanceOf: LayoutError, message: /absurd/ });
});
