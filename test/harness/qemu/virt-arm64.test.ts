// The pure parts of the arm64 path: the ramoops DTB and the configuration read back from it by
// the DT rules, the initrd collision message, the arm64 Image release, apt's answers, busybox's
// applet table, and the run CLI's flags -> node mapping. The real boots are in
// test/integration/arm64-cycle.test.ts.
import test from 'ava';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import {
  ARM64_DEFAULT_NODE,
  arm64GuestCmdline,
  nodeProperties,
  ramoopsDtb,
  reservationFailureText,
  RESERVE_FAILED_LINE,
  virtInitrdRange,
} from '../../../harness/qemu/virt-arm64.js';
import { runDtNode } from '../../../harness/cli/commands/run.js';
import { parseAptShow } from '../../../harness/debian/debs.js';
import { HarnessError } from '../../../harness/errors.js';
import { busyboxAppletNames } from '../../../harness/guest/image.js';
import { arm64ImageRelease, kernelPackageFromDepends } from '../../../harness/kernel/arm64.js';
import { ConfigError } from '../../../src/index.js';
import { readFdt, writeFdt } from '../../../src/dt/fdt.js';
import { cellBytes, stringBytes, type DeviceTree } from '../../../src/dt/tree.js';

/** The shape of QEMU's virt tree that matters here: 2/2 cells, one memory node, /chosen. */
const VIRT_LIKE: DeviceTree = {
  memReserve: [],
  bootCpuidPhys: 0,
  root: {
    name: '',
    properties: [
      { name: '#size-cells', value: cellBytes([2]) },
      { name: '#address-cells', value: cellBytes([2]) },
      { name: 'compatible', value: stringBytes('linux,dummy-virt') },
    ],
    children: [
      {
        name: 'memory@40000000',
        properties: [
          { name: 'reg', value: cellBytes([0, 0x4000_0000, 0, 0x2000_0000]) },
          { name: 'device_type', value: stringBytes('memory') },
        ],
        children: [],
      },
      { name: 'chosen', properties: [{ name: 'stdout-path', value: stringBytes('/pl011@9000000') }], children: [] },
    ],
  },
};
const base = writeFdt(VIRT_LIKE);

test('the default node reads back by the DT rules: absent ftrace-size is 0, ECC off, per-CPU ftrace off', (t) => {
  const dt = ramoopsDtb(base, ARM64_DEFAULT_NODE, '6.1.0-56-arm64');
  t.is(dt.node.path, '/reserved-memory/ramoops@50000000');
  t.true(dt.node.noMap && dt.node.underReservedMemory && dt.node.reservedMemoryAccepted);
  t.like(dt.config, {
    memAddress: 0x5000_0000,
    memSize: 0x10_0000,
    recordSize: 0x4000,
    consoleSize: 0x1000,
    ftraceSize: 0,
    pmsgSize: 0x1000,
    eccSize: 0,
    ftracePerCpu: false,
    source: 'dt',
  });
  // The blob is what we wrote: the rest of the tree is untouched.
  const back = readFdt(dt.dtb);
  t.deepEqual(back.root.children.slice(0, 2), VIRT_LIKE.root.children);
  t.deepEqual(nodeProperties(dt.node, ARM64_DEFAULT_NODE), {
    'reg.address': 0x5000_0000,
    'reg.size': 0x10_0000,
    'record-size': 0x4000,
    'console-size': 0x1000,
    'pmsg-size': 0x1000,
    'no-map': true,
  });
});

test('ecc-size is literal on the DT path (1 stays 1), flags bit 0 turns per-CPU ftrace on', (t) => {
  t.is(ramoopsDtb(base, { ...ARM64_DEFAULT_NODE, eccSize: 1 }, '6.1.0-56-arm64').config.eccSize, 1);
  t.is(ramoopsDtb(base, { ...ARM64_DEFAULT_NODE, eccSize: 16 }, '6.1.0-56-arm64').config.eccSize, 16);
  t.true(ramoopsDtb(base, { ...ARM64_DEFAULT_NODE, ftraceSize: 0x1000, flags: 1 }, '6.1.0-56-arm64').config.ftracePerCpu);
});

test('a value the kernel would refuse fails before booting', (t) => {
  t.throws(() => ramoopsDtb(base, { ...ARM64_DEFAULT_NODE, recordSize: 0x8000_0000 }, '6.1.0-56-arm64'), { instanceOf: ConfigError, message: /INT_MAX/ });
  t.throws(() => ramoopsDtb(base, { ...ARM64_DEFAULT_NODE, size: 0 }, '6.1.0-56-arm64'), { instanceOf: ConfigError, message: /mem_size/ });
  t.throws(() => ramoopsDtb(base, { ...ARM64_DEFAULT_NODE, recordSize: -1 }, '6.1.0-56-arm64'), { instanceOf: ConfigError });
  // Whether the region is RAM of the guest is the run's check (physToFileOffset), not the DT's.
  t.is(ramoopsDtb(base, { ...ARM64_DEFAULT_NODE, address: 2 ** 33 }, '6.1.0-56-arm64').config.memAddress, 2 ** 33, '2 cells hold 64-bit addresses');
});

test('the initrd QEMU loads: RAM base + min(RAM/2, 128 MiB); the failure text names the overlap and quotes the kernel', (t) => {
  t.deepEqual(virtInitrdRange(512 * 1024 * 1024, 0x2e9007), { start: 0x4800_0000, end: 0x482e_9007 });
  t.deepEqual(virtInitrdRange(128 * 1024 * 1024, 0x1000), { start: 0x4400_0000, end: 0x4400_1000 });
  const line = "[    0.000000] OF: fdt: Reserved memory: failed to reserve memory for node 'ramoops@48000000': base 0x0000000048000000, size 1 MiB";
  t.is(RESERVE_FAILED_LINE.exec(line)?.[1], 'ramoops@48000000');
  const node = { ...ARM64_DEFAULT_NODE, address: 0x4800_0000 };
  const text = reservationFailureText(line, node, virtInitrdRange(512 * 1024 * 1024, 0x2e9007));
  t.regex(text, /could not reserve ramoops@48000000 \(0x100000 bytes at 0x48000000\): it overlaps the initrd QEMU loads at 0x48000000\.\.0x482e9007/);
  t.regex(text, /Kernel: "OF: fdt: Reserved memory: failed/);
  t.notRegex(reservationFailureText(line, { ...node, address: 0x5000_0000 }, virtInitrdRange(512 * 1024 * 1024, 0x2e9007)), /overlaps/);
});

test('the arm64 command line: PL011 console, no memmap and no ramoops words', (t) => {
  t.is(
    arm64GuestCmdline(' pstore.compress=deflate ', ['nokaslr'], 'rh.key=K'),
    'console=ttyAMA0 quiet loglevel=4 panic=-1 pstore.compress=deflate nokaslr rh.key=K',
  );
});

/** An arm64 Image header (booting.rst) with a banner somewhere after it. */
function fakeImage(banner: string): Uint8Array {
  const b = new Uint8Array(0x2000);
  new DataView(b.buffer).setUint32(0x38, 0x644d5241, true);
  b.set(new TextEncoder().encode(banner), 0x1000);
  return b;
}

test('arm64 Image release from the banner, plain or gzip; an x86 bzImage is named as such', (t) => {
  const img = fakeImage('Linux version 6.1.0-56-arm64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP Debian 6.1.192-2\n');
  t.is(arm64ImageRelease(img), '6.1.0-56-arm64');
  t.is(arm64ImageRelease(gzipSync(img)), '6.1.0-56-arm64');
  const bz = new Uint8Array(0x400);
  bz.set(new TextEncoder().encode('HdrS'), 0x202);
  t.throws(() => arm64ImageRelease(bz), { instanceOf: HarnessError, message: /x86 bzImage/ });
  const noBanner = fakeImage('');
  t.throws(() => arm64ImageRelease(noBanner), { instanceOf: HarnessError, message: /banner/ });
});

test("apt answers: the metapackage's kernel with its pinned version; paragraphs of other architectures ignored", (t) => {
  t.deepEqual(kernelPackageFromDepends('linux-image-6.1.0-56-arm64 (= 6.1.192-2)'), { pkg: 'linux-image-6.1.0-56-arm64', version: '6.1.192-2' });
  t.deepEqual(kernelPackageFromDepends('linux-image-6.1.0-56-arm64'), { pkg: 'linux-image-6.1.0-56-arm64', version: undefined });
  const text = [
    'Package: libc6\nArchitecture: amd64\nVersion: 2.36-9+deb12u14\nDepends: libgcc-s1',
    'Package: libc6\nArchitecture: arm64\nVersion: 2.36-9+deb12u13\nDepends: libgcc-s1',
    'Package: linux-image-arm64\nSource: linux-signed-arm64 (6.1.192+2)\nVersion: 6.1.192-2\nArchitecture: arm64\nDepends: linux-image-6.1.0-56-arm64 (= 6.1.192-2)',
  ].join('\n\n');
  const m = parseAptShow(text, 'arm64');
  t.is(m.get('libc6')?.version, '2.36-9+deb12u13');
  t.is(m.get('linux-image-arm64')?.depends, 'linux-image-6.1.0-56-arm64 (= 6.1.192-2)');
});

test("busybox applet names from the binary's table", (t) => {
  const enc = new TextEncoder();
  const bin = new Uint8Array([...enc.encode('\x7fELF junk\0'), ...enc.encode('\0[\0[[\0ash\0cat\0sh\0zcat\0\0more junk')]);
  t.deepEqual(busyboxAppletNames(bin), ['[', '[[', 'ash', 'cat', 'sh', 'zcat']);
  t.throws(() => busyboxAppletNames(enc.encode('no table here')), { instanceOf: HarnessError });
});

(existsSync('/bin/busybox') ? test : test.skip)('busybox applet names: the host busybox agrees with `busybox --list`', async (t) => {
  const listed = (await execa('/bin/busybox', ['--list'])).stdout.split('\n').filter((l) => l !== '');
  t.deepEqual([...busyboxAppletNames(new Uint8Array(await readFile('/bin/busybox')))].sort(), [...listed].sort());
});

test('run --arch arm64: flags become node properties over the arm64 defaults; ecc literal; pstore words kept', (t) => {
  const d = runDtNode({});
  t.deepEqual(d.node, ARM64_DEFAULT_NODE);
  t.is(d.pstore, '');
  const e = runDtNode({ ecc: '1', 'record-size': '0x8000', 'mem-address': '0x58000000', cmdline: 'pstore.compress=deflate ramoops.max_reason=1 nokaslr' });
  t.like(e.node, { address: 0x5800_0000, size: 0x10_0000, recordSize: 0x8000, eccSize: 1, maxReason: 1, consoleSize: 0x1000 });
  t.is(e.pstore, 'pstore.compress=deflate');
  t.deepEqual(e.extra, ['nokaslr']);
  t.throws(() => runDtNode({ ecc: '200' }), { instanceOf: ConfigError });
});
