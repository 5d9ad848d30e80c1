// Golden argv for the machine specs the harness uses. The files under test/golden/qemu/ are
// the reviewable record of every flag we pass; UPDATE_GOLDEN=1 rewrites them after a change.
import test from 'ava';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildQemuArgs, formatSize, quoteOptarg, type QemuSpec } from '../../../harness/qemu/args.js';

// dist/test/harness/qemu/ -> the source tree's test/golden/qemu/
const goldenDir = fileURLToPath(new URL('../../../../test/golden/qemu/', import.meta.url));

const base: QemuSpec = {
  machine: 'q35',
  accel: 'tcg',
  memoryBytes: 512 * 1024 * 1024,
  ramFile: '/TMP/ram',
  qmpSocket: '/TMP/qmp.sock',
  serial: { kind: 'file', path: '/TMP/serial.log' },
};

const cases: ReadonlyArray<readonly [string, QemuSpec]> = [
  [
    'q35-boot',
    {
      ...base,
      kernel: '/cache/vmlinuz',
      initrd: '/cache/initramfs.cpio.gz',
      append: 'console=ttyS0 quiet loglevel=4 panic=-1 memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000',
      sshPort: 40022,
    },
  ],
  [
    // The PVH boot: the uncompressed vmlinux through qboot instead of the bzImage through SeaBIOS.
    'q35-pvh-qboot',
    {
      ...base,
      firmware: '/usr/share/qemu/qboot.rom',
      kernel: '/cache/vmlinux/SHA/vmlinux',
      initrd: '/cache/initramfs.cpio.gz',
      append: 'console=ttyS0 quiet loglevel=4 panic=-1 memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000',
      sshPort: 40022,
    },
  ],
  ['q35-paused-no-net', { ...base, memoryBytes: 64 * 1024 * 1024, paused: true, pvpanic: false }],
  [
    'pc-kvm-commas',
    {
      ...base,
      machine: 'pc',
      accel: 'kvm',
      cpu: 'host',
      cpus: 2,
      memoryBytes: 5 * 1024 * 1024 * 1024,
      ramFile: '/tmp/a,b/ram',
      qmpSocket: '/tmp/a,b/qmp.sock',
      serial: { kind: 'file', path: '/tmp/a,b/serial.log' },
      sshPort: 2222,
    },
  ],
  [
    // arm64: virt with the DTB carrying the ramoops node, pvpanic on PCI (virt has no ISA bus).
    'virt-arm64-boot',
    {
      ...base,
      machine: 'virt',
      cpu: 'cortex-a57',
      kernel: '/cache/vmlinuz-6.1.0-56-arm64',
      initrd: '/cache/initramfs.cpio.gz',
      dtb: '/out/guest.dtb',
      append: 'console=ttyAMA0 quiet loglevel=4 panic=-1',
      sshPort: 40022,
    },
  ],
  ['virt-dumpdtb', { ...base, machine: 'virt', cpu: 'cortex-a57', dumpDtb: '/tmp/d,1/virt.dtb' }],
  // armhf: a 32-bit cortex-a15 on virt, highmem=off so a kernel without LPAE reaches PCIe (virtio-net).
  [
    'virt-armhf-boot',
    {
      ...base,
      machine: 'virt',
      highmem: false,
      cpu: 'cortex-a15',
      kernel: '/cache/vmlinuz-6.1.0-50-armmp',
      initrd: '/cache/initramfs.cpio.gz',
      dtb: '/out/guest.dtb',
      append: 'console=ttyAMA0 quiet loglevel=4 panic=-1',
      sshPort: 40022,
    },
  ],
  // The selftests' share: a host folder over virtio-9p, its path a QemuOpts value.
  [
    'q35-share',
    { ...base, kernel: '/cache/vmlinuz', append: 'console=ttyS0 rh.share=rhshare', sshPort: 40022, share: { path: '/out/a,b/share', tag: 'rhshare' } },
  ],
];

for (const [name, spec] of cases) {
  test(`argv golden: ${name}`, async (t) => {
    const actual = JSON.stringify(buildQemuArgs(spec), null, 1) + '\n';
    const file = `${goldenDir}${name}.json`;
    if (process.env['UPDATE_GOLDEN'] === '1') {
      await mkdir(goldenDir, { recursive: true });
      await writeFile(file, actual);
    }
    t.is(actual, await readFile(file, 'utf8'));
  });
}

test('the kernel command line is one argv element, $ and spaces untouched', (t) => {
  const append = 'memmap=0x100000$0x8000000 ramoops.mem_size=0x100000';
  const args = buildQemuArgs({ ...base, append });
  t.is(args[args.indexOf('-append') + 1], append);
});

test('option values escape commas, other values do not', (t) => {
  t.is(quoteOptarg('/a,b,,c'), '/a,,b,,,,c');
  const args = buildQemuArgs({ ...base, ramFile: '/x,y/ram', kernel: '/k,1' });
  t.true(args.includes('memory-backend-file,id=mem,size=512M,mem-path=/x,,y/ram,share=on'));
  // -kernel is not a QemuOpts string: QEMU takes it verbatim.
  t.is(args[args.indexOf('-kernel') + 1], '/k,1');
});

test('SSH is forwarded from 127.0.0.1 only', (t) => {
  const args = buildQemuArgs({ ...base, sshPort: 5555 });
  t.true(args.includes('user,id=n0,hostfwd=tcp:127.0.0.1:5555-:22'));
  t.throws(() => buildQemuArgs({ ...base, sshPort: 70000 }), { instanceOf: RangeError });
  t.throws(() => buildQemuArgs({ ...base, sshPort: -1 }), { instanceOf: RangeError });
  // 0: QEMU binds a free port itself; QemuProcess reads it back.
  t.true(buildQemuArgs({ ...base, sshPort: 0 }).includes('user,id=n0,hostfwd=tcp:127.0.0.1:0-:22'));
});

test('sizes use the largest exact unit', (t) => {
  t.is(formatSize(512 * 1024 * 1024), '512M');
  t.is(formatSize(5 * 1024 ** 3), '5G');
  t.is(formatSize(4097 * 1024), '4097K');
  t.is(formatSize(1000), '1000');
  t.throws(() => formatSize(0));
  t.throws(() => formatSize(1.5));
});

test('a shared folder is one fsdev and one virtio-9p-pci device; a bad mount tag is refused', (t) => {
  const args = buildQemuArgs({ ...base, share: { path: '/srv/x', tag: 'rhshare' } });
  t.is(args[args.indexOf('-fsdev') + 1], 'local,id=fs-rhshare,path=/srv/x,security_model=none');
  t.true(args.includes('virtio-9p-pci,fsdev=fs-rhshare,mount_tag=rhshare'));
  t.false(buildQemuArgs(base).includes('-fsdev'));
  t.throws(() => buildQemuArgs({ ...base, share: { path: '/srv/x', tag: 'a,b' } }), { instanceOf: RangeError });
  t.throws(() => buildQemuArgs({ ...base, share: { path: '/srv/x', tag: 'x'.repeat(32) } }), { instanceOf: RangeError });
});
