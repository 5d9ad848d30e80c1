// Placement rules: reservation (memmap=/mem= on x86, /reserved-memory and no-map in a DT),
// RAM, what QEMU loads at every reset (the arm64 virt case from issue 8), alignment, low memory.
import test from 'ava';
import { cmdlineFacts, memparse } from '../../../src/validate/cmdline.js';
import { bootWindows, qemuRamMap, uncovered } from '../../../src/validate/machine.js';
import { ramRanges } from '../../../harness/qemu/machines.js';
import { validateSettings } from '../../../src/validate/validate.js';
import { expectNo, expectProblem, fromCmdline, fromDts, GOOD, virtDts } from './helpers.js';
import { CHROMEBOOK } from '../dt/samples.js';

const region = 'ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000';

test('memmap= parsing: memparse suffixes, comma lists, kinds, limits, mem=, loglevel', (t) => {
  t.deepEqual(memparse('1M$0x8000000'), { value: 1 << 20, rest: '$0x8000000' });
  t.deepEqual(memparse('0x100000'), { value: 0x100000, rest: '' });
  const f = cmdlineFacts('quiet loglevel=7 mem=2G memmap=1M$128M,4K!0x9000000 memmap=exactmap memmap=64M@0 memmap=bogus');
  t.deepEqual(
    f.memmap.map((m) => [m.kind, m.size, m.address]),
    [
      ['$', 1 << 20, 128 << 20],
      ['!', 4096, 0x9000000],
      ['@', 64 << 20, 0],
    ],
  );
  t.like(f, { memLimit: 2 ** 31, loglevel: 7, quiet: true, unparsed: ['memmap=bogus'] });
});

test('region-not-reserved: x86 command line without a covering memmap=SIZE$ADDR', (t) => {
  const p = expectProblem(t, fromCmdline(region), 'region-not-reserved', 'warning');
  t.regex(p.fix, /add memmap=0x100000\$0x8000000 to the kernel command line/);
  expectNo(t, fromCmdline(GOOD), 'region-not-reserved');
  // Half covered: the rest is named.
  t.regex(expectProblem(t, fromCmdline(`${region} memmap=0x80000$0x8000000`), 'region-not-reserved').message, /0x8080000\.\.0x8100000/);
  // Several entries that together cover it, and mem= below the region, both count.
  expectNo(t, fromCmdline(`${region} memmap=0x80000$0x8000000,0x80000$0x8080000`), 'region-not-reserved');
  expectNo(t, fromCmdline(`${region} mem=128M`), 'region-not-reserved');
  // memmap=…@… adds RAM, it does not reserve.
  expectProblem(t, fromCmdline(`${region} memmap=0x100000@0x8000000`), 'region-not-reserved');
});

test('region-not-reserved: arm64 has no memmap=, the fix is a reserved-memory node', (t) => {
  const p = expectProblem(t, fromCmdline(`${region} memmap=0x100000$0x8000000`.replace(/0x8000000/g, '0x50000000'), { arch: 'arm64' }), 'region-not-reserved');
  t.regex(p.fix, /reserved-memory\/ramoops@50000000 node with no-map/);
});

test('reservation-unchecked: nothing to check against without a command line or DT', (t) => {
  const r = validateSettings({ settings: { memAddress: 0x8000000, memSize: 0x100000 }, source: 'modparams' });
  expectProblem(t, r, 'reservation-unchecked', 'info');
  expectNo(t, r, 'region-not-reserved');
});

test('region-pmem: memmap=SIZE!ADDR makes it pmem', (t) => {
  const p = expectProblem(t, fromCmdline(`${region} memmap=0x100000!0x8000000`), 'region-pmem', 'warning');
  t.regex(p.fix, /memmap=0x100000\$0x8000000/);
  expectNo(t, fromCmdline(`${region} memmap=0x100000!0x8000000`), 'region-not-reserved');
});

test('region-outside-ram: beyond a small x86 guest, below arm64 RAM', (t) => {
  const p = expectProblem(t, fromCmdline(GOOD, { ramSize: 64 << 20 }), 'region-outside-ram', 'warning');
  t.regex(p.message, /no RAM at 0x8000000\.\.0x8100000 in a QEMU q35 guest with 64 MiB/);
  expectNo(t, fromCmdline(GOOD, { ramSize: 1 << 30 }), 'region-outside-ram');
  const arm = expectProblem(t, fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '8000000' }), { ramSize: 512 << 20 }), 'region-outside-ram');
  t.regex(arm.message, /virt guest/);
  // q35 puts RAM beyond 0xb0000000 above 4 GiB.
  expectProblem(
    t,
    fromCmdline('ramoops.mem_address=0xc0000000 ramoops.mem_size=0x100000 memmap=0x100000$0xc0000000', { ramSize: 4 * 2 ** 30 }),
    'region-outside-ram',
  );
  expectNo(
    t,
    fromCmdline('ramoops.mem_address=0x100000000 ramoops.mem_size=0x100000 memmap=0x100000$0x100000000', { ramSize: 4 * 2 ** 30 }),
    'region-outside-ram',
  );
});

test("our q35 RAM map agrees with the harness's (which was checked against pmemsave)", (t) => {
  for (const ram of [64 << 20, 1 << 30, 0xb0000000, 3 * 2 ** 30, 8 * 2 ** 30]) {
    const ours = qemuRamMap('x86', ram).map((r) => [r.start, r.size]);
    const theirs = ramRanges('q35', ram).map((r) => [r.phys, r.size]);
    t.deepEqual(ours, theirs, `${ram}`);
  }
});

test('boot-image-collision: the arm64 virt case of issue 8 (0x48000000 fails, 0x50000000 works)', (t) => {
  const bad = fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '48000000' }), { ramSize: 512 << 20, initrdSize: 8 << 20 });
  const p = expectProblem(t, bad, 'boot-image-collision', 'warning');
  t.regex(p.message, /writes the initrd at 0x48000000\.\.0x48800000/);
  t.regex(p.message, /failed to reserve memory for node/);
  t.regex(p.fix, /e\.g\. to 0x49000000/);
  expectNo(t, fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '50000000' }), { ramSize: 512 << 20, initrdSize: 8 << 20 }), 'boot-image-collision');
  // The kernel's own window at the RAM base, without knowing the RAM size.
  t.regex(
    expectProblem(t, fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '40400000' }), { arch: 'arm64' }), 'boot-image-collision').message,
    /kernel image/,
  );
  // A DT alone does not make it a QEMU guest: no loader rule then.
  expectNo(t, fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '40400000' })), 'boot-image-collision');
  // With no-map the kernel refuses the node over the initrd (memblock already holds it): quoted, so
  // validate --boot can hold the kernel to it. Not without no-map (memblock_reserve merges
  // silently), and not for the kernel image's window (QEMU's room, wider than what the kernel reserves).
  t.is(p.kernelMessage, "Reserved memory: failed to reserve memory for node 'ramoops@48000000'");
  t.is(
    expectProblem(t, fromDts(virtDts('record-size = <0x4000>;', { at: '48000000' }), { ramSize: 512 << 20, initrdSize: 8 << 20 }), 'boot-image-collision')
      .kernelMessage,
    undefined,
  );
  t.is(
    expectProblem(t, fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '40400000' }), { arch: 'arm64' }), 'boot-image-collision').kernelMessage,
    undefined,
  );
  t.regex(
    expectProblem(
      t,
      fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '48800000' }), { ramSize: 512 << 20, initrdSize: 8 << 20 }),
      'boot-image-collision',
    ).message,
    /writes the DTB/,
  );
  t.truthy(
    expectProblem(
      t,
      fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '48800000' }), { ramSize: 512 << 20, initrdSize: 8 << 20 }),
      'boot-image-collision',
    ).kernelMessage,
  );
  // Unknown initrd size: up to 64 MiB assumed, and said so.
  t.regex(
    expectProblem(t, fromDts(virtDts('record-size = <0x4000>; no-map;', { at: '4b000000' }), { ramSize: 512 << 20 }), 'boot-image-collision').message,
    /assumed up to 64 MiB/,
  );
});

test('boot-image-collision: x86 QEMU puts the initrd at the top of RAM below 4 GiB', (t) => {
  const top = 'ramoops.mem_address=0xff00000 ramoops.mem_size=0x100000 memmap=0x100000$0xff00000';
  t.regex(expectProblem(t, fromCmdline(top, { ramSize: 256 << 20, initrdSize: 4 << 20 }), 'boot-image-collision').message, /the initrd/);
  expectNo(t, fromCmdline(GOOD, { ramSize: 256 << 20, initrdSize: 4 << 20 }), 'boot-image-collision');
  const [w] = bootWindows('x86', 256 << 20, 4 << 20);
  t.is(w?.start, Math.floor((0x10000000 - 0x28000 - 1 - (4 << 20)) / 4096) * 4096);
});

test('region-low-memory: x86 regions in the first 1 MiB', (t) => {
  expectProblem(t, fromCmdline('ramoops.mem_address=0x90000 ramoops.mem_size=0x10000 memmap=0x10000$0x90000'), 'region-low-memory', 'warning');
  expectNo(t, fromCmdline(GOOD), 'region-low-memory');
});

test('region-unaligned: region not on page boundaries', (t) => {
  const p = expectProblem(t, fromCmdline('ramoops.mem_address=0x8000100 ramoops.mem_size=0x100000 memmap=0x101000$0x8000000'), 'region-unaligned', 'warning');
  t.regex(p.fix, /0x101000@0x8000000/);
});

test('dt-not-under-reserved-memory: the old-Chromebook placement reserves nothing, unless /memreserve/ covers it', (t) => {
  expectProblem(t, fromDts(CHROMEBOOK), 'dt-not-under-reserved-memory', 'warning');
  expectNo(t, fromDts(CHROMEBOOK.replace('/ {', '/memreserve/ 0x3f000000 0x100000;\n/ {')), 'dt-not-under-reserved-memory');
});

test("dt-reserved-memory-ignored: /reserved-memory cells differ from the root's, or no ranges", (t) => {
  const oneOne = virtDts('record-size = <0x4000>; no-map;', { rm: '#address-cells = <1>; #size-cells = <1>; ranges;' }).replace(
    'reg = <0x0 0x50000000 0x0 0x100000>;',
    'reg = <0x50000000 0x100000>;',
  );
  const r = fromDts(oneOne);
  const p = expectProblem(t, r, 'dt-reserved-memory-ignored', 'warning');
  t.is(p.kernelMessage, 'Reserved memory: unsupported node format, ignoring');
  t.is(r.layout?.zones[0]?.address, 0x50000000, 'the device still probes with its own resource');
  // Without `ranges` the kernel cannot even translate reg: probe fails as well.
  const noRanges = fromDts(virtDts('record-size = <0x4000>; no-map;', { rm: '#address-cells = <2>; #size-cells = <2>;' }));
  t.regex(expectProblem(t, noRanges, 'dt-no-reg', 'error').message, /reserved-memory has no `ranges`/);
});

test('dt-reg-not-reservable: reg with a partial entry is skipped by the early scan', (t) => {
  const src = virtDts('record-size = <0x4000>; no-map;').replace('reg = <0x0 0x50000000 0x0 0x100000>;', 'reg = <0x0 0x50000000 0x0 0x100000 0x1>;');
  expectProblem(t, fromDts(src), 'dt-reg-not-reservable', 'warning');
});

test('dt-no-map: reserved but still in the linear map', (t) => {
  expectProblem(t, fromDts(virtDts('record-size = <0x4000>;')), 'dt-no-map', 'warning');
  expectNo(t, fromDts(virtDts('record-size = <0x4000>; no-map;')), 'dt-no-map');
});

test('dt-several-nodes: only one ramoops instance can exist', (t) => {
  const src = virtDts('record-size = <0x4000>; no-map;').replace(
    '\t\tramoops@50000000 {',
    '\t\tramoops@60000000 { compatible = "ramoops"; reg = <0 0x60000000 0 0x1000>; record-size = <0x400>; };\n\t\tramoops@50000000 {',
  );
  expectProblem(t, fromDts(src), 'dt-several-nodes', 'warning');
});

test('uncovered(): the parts of a range no cover touches', (t) => {
  t.deepEqual(
    uncovered(0, 100, [
      { start: 10, size: 10 },
      { start: 50, size: 60 },
    ]),
    [
      { start: 0, size: 10 },
      { start: 20, size: 30 },
    ],
  );
  t.deepEqual(uncovered(0, 100, [{ start: 0, size: 100 }]), []);
});
