// The DT rules against what a real kernel did. Each case below was booted once: Debian's
// 6.1.0-56-arm64 kernel on QEMU 7.2 `virt` (cortex-a57, 512 MiB, the harness's arm64
// initramfs of 2980 KiB), with QEMU's own DTB (-machine dumpdtb=) plus a ramoops node written
// by withRamoopsNode and edited as named. `kernel` is what its log said; the test checks the
// validator says the same about the same tree (built here from QEMU's DTB when
// qemu-system-aarch64 is installed, else from an equivalent 2/2-cell tree).
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ramoopsNodeFromDt } from '../../../src/config/from-dt.js';
import { parseDts } from '../../../src/dt/dts.js';
import { readFdt, writeFdt } from '../../../src/dt/fdt.js';
import { withRamoopsNode } from '../../../src/dt/ramoops-node.js';
import { cellBytes, stringBytes, type DeviceTree, type DtNode } from '../../../src/dt/tree.js';
import { parseKernelVersion } from '../../../src/kernel/version.js';
import { exitCode, type ProblemCode } from '../../../src/validate/types.js';
import { validateSettings } from '../../../src/validate/validate.js';

function virtTree(): DeviceTree {
  if (spawnSync('qemu-system-aarch64', ['--version']).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'rh-virt-'));
    try {
      const file = join(dir, 'virt.dtb');
      execFileSync('qemu-system-aarch64', ['-machine', `virt,dumpdtb=${file}`, '-cpu', 'cortex-a57', '-m', '512M', '-nographic'], {
        stdio: 'ignore',
        timeout: 60000,
      });
      return readFdt(new Uint8Array(readFileSync(file)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return parseDts(
    '/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; compatible = "linux,dummy-virt"; memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x20000000>; }; };',
  );
}

const base = virtTree();
const spec = { address: 0x50000000, size: 0x100000, recordSize: 0x4000, consoleSize: 0x4000 } as const;
const mapRm = (t: DeviceTree, f: (rm: DtNode) => DtNode): DeviceTree => ({
  ...t,
  root: { ...t.root, children: t.root.children.map((c) => (c.name === 'reserved-memory' ? f(c) : c)) },
});
const setProp = (n: DtNode, name: string, value: Uint8Array | undefined): DtNode => ({
  ...n,
  properties:
    value === undefined
      ? n.properties.filter((p) => p.name !== name)
      : n.properties.some((p) => p.name === name)
        ? n.properties.map((p) => (p.name === name ? { name, value } : p))
        : [...n.properties, { name, value }],
});
const editNode = (t: DeviceTree, name: string, value: Uint8Array | undefined): DeviceTree =>
  mapRm(t, (rm) => ({ ...rm, children: rm.children.map((c) => setProp(c, name, value)) }));

interface Case {
  readonly tree: DeviceTree;
  /** What the booted kernel logged about ramoops (or the reservation). */
  readonly kernel: readonly string[];
  readonly errors: readonly ProblemCode[];
  readonly warnings?: readonly ProblemCode[];
  readonly kernelMessage?: string;
}

const good = withRamoopsNode(base, spec);
const cases: Readonly<Record<string, Case>> = {
  'a conforming node probes': { tree: good, kernel: ['ramoops: using 0x100000@0x50000000, ecc: 0'], errors: [] },
  'record-size above INT_MAX': {
    tree: editNode(good, 'record-size', cellBytes([0x80000000])),
    kernel: ['ramoops 50000000.ramoops: record-size 2147483648 > INT_MAX', 'ramoops: probe of 50000000.ramoops failed with error -75'],
    errors: ['dt-value-overflow'],
    kernelMessage: 'record-size 2147483648 > INT_MAX',
  },
  'an empty record-size': {
    tree: editNode(good, 'record-size', new Uint8Array(0)),
    kernel: ['ramoops 50000000.ramoops: failed to parse property record-size: -75'],
    errors: ['dt-bad-property'],
    kernelMessage: 'failed to parse property record-size: -75',
  },
  'no reg': {
    tree: editNode(good, 'reg', undefined),
    kernel: ['ramoops reserved-memory:ramoops@50000000: failed to locate DT /reserved-memory resource'],
    errors: ['dt-no-reg'],
    kernelMessage: 'failed to locate DT /reserved-memory resource',
  },
  'status disabled': { tree: editNode(good, 'status', stringBytes('disabled')), kernel: ['(no ramoops line: no device)'], errors: ['dt-disabled'] },
  'the issue 8 collision at 0x48000000': {
    tree: withRamoopsNode(base, { ...spec, address: 0x48000000 }),
    kernel: [
      "OF: fdt: Reserved memory: failed to reserve memory for node 'ramoops@48000000': base 0x0000000048000000, size 1 MiB",
      'ramoops: using 0x100000@0x48000000, ecc: 0',
    ],
    errors: [],
    warnings: ['boot-image-collision'],
  },
  'ecc-size 1 stays 1': { tree: withRamoopsNode(base, { ...spec, eccSize: 1 }), kernel: ['ramoops: using 0x100000@0x50000000, ecc: 1'], errors: [] },
  '/reserved-memory #size-cells 1 under a 2/2 root': {
    tree: mapRm(good, (rm) => setProp(rm, '#size-cells', cellBytes([1]))),
    kernel: ['OF: fdt: Reserved memory: unsupported node format, ignoring', 'ramoops: The memory size and the record/console size must be non-zero'],
    errors: ['no-mem-size'],
    kernelMessage: 'The memory size and the record/console size must be non-zero',
  },
};

const kernel = parseKernelVersion('6.1.0-56-arm64');
for (const [name, c] of Object.entries(cases)) {
  test(`arm64 DT, as the kernel did it: ${name}`, (t) => {
    const dt = ramoopsNodeFromDt(readFdt(writeFdt(c.tree)), kernel);
    const r = validateSettings({
      settings: { ...dt.settings, kernelVersion: '6.1.0-56-arm64' },
      source: 'dt',
      dt,
      arch: 'arm64',
      ramSize: 512 << 20,
      initrdSize: 2980 * 1024,
    });
    const errors = r.problems.filter((p) => p.severity === 'error');
    t.deepEqual(
      errors.map((p) => p.code),
      c.errors,
      `kernel said: ${c.kernel.join(' | ')}`,
    );
    if (c.kernelMessage) t.is(errors[0]?.kernelMessage, c.kernelMessage);
    for (const w of c.warnings ?? [])
      t.truthy(
        r.problems.find((p) => p.code === w && p.severity === 'warning'),
        w,
      );
    // Probe succeeded exactly when we say there is no error; then our region is the kernel's "using" line.
    const using = c.kernel.map((l) => /using 0x([0-9a-f]+)@0x([0-9a-f]+), ecc: (\d+)/.exec(l)).find((m) => m);
    t.is(exitCode(r.problems, false) !== 2, using !== undefined);
    if (using) {
      t.is(r.layout?.zones[0]?.address, parseInt(using[2] ?? '', 16));
      t.is(dt.settings.memSize, parseInt(using[1] ?? '', 16));
      t.is(r.layout?.zones[0]?.geometry.eccSize, Number(using[3]));
    }
  });
}
