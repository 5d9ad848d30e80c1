// The pure parts of the kernel build: build specs, fragments, the cache key and the report of
// options a kernel did not take. (The build itself is exercised by `ramoops kernel build` and
// the fixture captures; a cold build takes minutes.)
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildKey,
  buildSpec,
  DEFAULT_CONFIGS,
  DEFAULT_SOURCE,
  describeMissing,
  kernelConfigsDir,
  missingOptions,
  parseBuildSpec,
  parseConfigLines,
  readFragments,
  treeFixups,
} from '../../../harness/kernel/build.js';
import { HarnessError } from '../../../harness/errors.js';

test('build specs: source and configs, defaults, and a directory with a colon', (t) => {
  t.deepEqual(parseBuildSpec('build:debian-6.1:base,pstore-full,lkdtm'), { source: 'debian-6.1', configs: ['base', 'pstore-full', 'lkdtm'] });
  t.deepEqual(parseBuildSpec('build:debian-6.12'), { source: 'debian-6.12', configs: DEFAULT_CONFIGS });
  t.deepEqual(parseBuildSpec('build::'), { source: DEFAULT_SOURCE, configs: DEFAULT_CONFIGS });
  t.deepEqual(parseBuildSpec('build:/src/a:b/linux:base'), { source: '/src/a:b/linux', configs: ['base'] });
  t.is(parseBuildSpec('debian'), undefined);
  t.is(parseBuildSpec('/boot/vmlinuz'), undefined);
  const spec = buildSpec('debian-6.12', ['base', 'smp']);
  t.deepEqual(parseBuildSpec(spec), { source: 'debian-6.12', configs: ['base', 'smp'] });
});

test('every fragment in kernel-configs/ is data: comments and CONFIG_ lines only, each explained by a header', (t) => {
  const dir = kernelConfigsDir();
  const names = readdirSync(dir).filter((n) => !n.startsWith('.'));
  t.true(
    ['base', 'pstore-full', 'lkdtm', 'smp'].every((n) => names.includes(n)),
    names.join(','),
  );
  for (const n of names) {
    const text = readFileSync(join(dir, n), 'utf8');
    t.true(text.startsWith('# '), `${n} starts with a comment header`);
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      t.regex(line, /^CONFIG_[A-Z0-9_]+=(y|m|\d+|"[^"]*")$/, `${n}: ${line}`);
    }
  }
});

test('fragments are found by name or path; an unknown name lists the known ones', async (t) => {
  const [base] = await readFragments(['base']);
  t.is(base?.name, 'base');
  t.true(parseConfigLines(base?.text ?? '').get('CONFIG_PSTORE') === undefined);
  const byPath = await readFragments([join(kernelConfigsDir(), 'smp')]);
  t.is(byPath[0]?.name, 'smp');
  const e = await t.throwsAsync(readFragments(['no-such-fragment']), { instanceOf: HarnessError });
  t.regex(e?.message ?? '', /kernel-configs\/ has: .*pstore-full/);
  await t.throwsAsync(readFragments(['../etc']), { instanceOf: HarnessError });
  await t.throwsAsync(readFragments([]), { instanceOf: HarnessError });
});

test('config lines: values and "is not set"', (t) => {
  const m = parseConfigLines('# a comment\nCONFIG_A=y\nCONFIG_B="deflate"\n# CONFIG_C is not set\nCONFIG_NR_CPUS=4\n');
  t.deepEqual(
    [...m],
    [
      ['CONFIG_A', 'y'],
      ['CONFIG_B', '"deflate"'],
      ['CONFIG_C', 'n'],
      ['CONFIG_NR_CPUS', '4'],
    ],
  );
});

test('missing options: absent from the version vs off for unmet dependencies; asking for n is met by absence', (t) => {
  const frags = [
    { name: 'pstore-full', text: 'CONFIG_PSTORE=y\nCONFIG_PSTORE_LZO_COMPRESS=y\nCONFIG_PSTORE_FTRACE=y\n' },
    { name: 'smp', text: 'CONFIG_NR_CPUS=4\n# CONFIG_WERROR is not set\n' },
  ];
  const final = 'CONFIG_PSTORE=y\n# CONFIG_PSTORE_FTRACE is not set\nCONFIG_NR_CPUS=1\n';
  const defined = new Set(['PSTORE', 'PSTORE_FTRACE', 'NR_CPUS', 'WERROR']);
  const missing = missingOptions(frags, final, defined);
  t.deepEqual(
    missing.map((m) => [m.name, m.reason, m.got, m.fragment]),
    [
      ['CONFIG_PSTORE_LZO_COMPRESS', 'unknown', undefined, 'pstore-full'],
      ['CONFIG_PSTORE_FTRACE', 'unmet', 'n', 'pstore-full'],
      ['CONFIG_NR_CPUS', 'unmet', '1', 'smp'],
    ],
  );
  t.deepEqual(missing.map(describeMissing), [
    'CONFIG_PSTORE_LZO_COMPRESS=y (pstore-full): not in this kernel version',
    'CONFIG_PSTORE_FTRACE=y (pstore-full): off (dependencies unmet)',
    'CONFIG_NR_CPUS=4 (smp): is 1',
  ]);
});

test('the cache key changes with the source, a fragment byte and the order, and nothing else', (t) => {
  const a = { name: 'base', text: 'CONFIG_A=y\n' };
  const b = { name: 'smp', text: 'CONFIG_SMP=y\n' };
  const k = buildKey('linux-source-6.1=6.1.192-2', [a, b]);
  t.is(buildKey('linux-source-6.1=6.1.192-2', [a, b]), k);
  t.not(buildKey('linux-source-6.1=6.1.192-3', [a, b]), k);
  t.not(buildKey('linux-source-6.1=6.1.192-2', [b, a]), k);
  t.not(buildKey('linux-source-6.1=6.1.192-2', [{ ...a, text: 'CONFIG_A=n\n' }, b]), k);
  t.regex(k, /^[0-9a-f]{20}$/);
  // x86_64 keys are what they were before arm64 builds existed (cached kernels stay valid);
  // an arm64 build of the same fragments is another entry.
  t.is(buildKey('linux-source-6.1=6.1.192-2', [a, b], 'x86_64'), k);
  t.not(buildKey('linux-source-6.1=6.1.192-2', [a, b], 'arm64'), k);
});

test('the arm64-virt fragment is base for the virt machine: its console, PCI host and RTC, no x86 devices', async (t) => {
  const [f] = await readFragments(['arm64-virt']);
  const opts = parseConfigLines(f?.text ?? '');
  for (const o of [
    'CONFIG_SERIAL_AMBA_PL011_CONSOLE',
    'CONFIG_PCI_HOST_GENERIC',
    'CONFIG_VIRTIO_NET',
    'CONFIG_RTC_DRV_PL031',
    'CONFIG_PVPANIC_PCI',
    'CONFIG_BLK_DEV_INITRD',
    'CONFIG_RD_GZIP',
  ])
    t.is(opts.get(o), 'y', o);
  for (const o of ['CONFIG_SERIAL_8250', 'CONFIG_ACPI', 'CONFIG_RTC_DRV_CMOS', 'CONFIG_64BIT']) t.false(opts.has(o), o);
});

test('treeFixups: objtool that fails on a missing symbol table (4.19.108) gets the frame-pointer unwinder; fixed objtool (5.4.286) and other trees get nothing', async (t) => {
  const tree = async (elf: string | undefined): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'rh-fixups-'));
    if (elf !== undefined) {
      await mkdir(join(d, 'tools/objtool'), { recursive: true });
      await writeFile(join(d, 'tools/objtool/elf.c'), elf);
    }
    return d;
  };
  // The two versions of the check, as in the 4.19.108 and 5.4.286 trees.
  const old = '\tsymtab = find_section_by_name(elf, ".symtab");\n\tif (!symtab) {\n\t\tWARN("missing symbol table");\n\t\treturn -1;\n\t}\n';
  const fixed =
    "\tif (!symtab) {\n\t\t/*\n\t\t * A missing symbol table is actually possible if it's an empty\n\t\t * .o file.  This can happen for thunk_64.o.\n\t\t */\n\t\treturn 0;\n\t}\n";
  const f = await treeFixups(await tree(old));
  t.deepEqual(
    f.map((x) => x.name),
    ['harness-old-objtool'],
  );
  t.regex(f[0]?.text ?? '', /^# CONFIG_UNWINDER_ORC is not set$/m);
  t.regex(f[0]?.text ?? '', /^CONFIG_UNWINDER_FRAME_POINTER=y$/m);
  t.regex(f[0]?.text ?? '', /^# CONFIG_STACK_VALIDATION is not set$/m);
  t.deepEqual(await treeFixups(await tree(fixed)), []);
  t.deepEqual(await treeFixups(await tree(undefined)), [], 'no objtool (arm64-only or very old trees)');
});
