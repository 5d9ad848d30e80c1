// `ramoops validate` end to end through the compiled CLI: exit codes for CI, JSON shape, the
// SVG file, .dts and .dtb inputs (the arm64 virt collision of issue 8), --arch and what --boot
// refuses before booting, and --ssh against an in-process SSH server.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { ed25519Pair } from '../../../harness/ssh/keys.js';
import { bootArch, dtBootRefusal, validateArch } from '../../../harness/cli/commands/validate.js';
import { ramoopsNodeFromDt, type DtRamoops } from '../../../src/config/from-dt.js';
import { parseDts } from '../../../src/dt/dts.js';
import { writeFdt } from '../../../src/dt/fdt.js';
import { repoRoot } from '../../helpers/paths.js';
import { virtDts } from '../../core/validate/helpers.js';

const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'rh-validate-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const GOOD =
  'console=ttyS0 quiet loglevel=4 memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.record_size=0x4000 ramoops.console_size=0x4000 ramoops.ftrace_size=0 ramoops.pmsg_size=0';

interface JsonOut {
  readonly source: string;
  readonly layout: { readonly zones: readonly { kind: string; index: number; address: string; size: number }[]; readonly unused: number } | null;
  readonly problems: readonly { severity: string; code: string; message: string; fix: string }[];
  readonly exitCode: number;
}

const run = (args: readonly string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [cli, 'validate', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const runJson = (args: readonly string[]): { status: number | null; json: JsonOut } => {
  const r = run([...args, '--json']);
  return { status: r.status, json: JSON.parse(r.stdout) as JsonOut };
};

test('a clean configuration exits 0 and prints the zone map', (t) => {
  const r = run(['--cmdline', GOOD, '--kernel-version', '6.12.117', '--strict']);
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^\[D+CC?\]$/m);
  t.regex(r.stdout, /0 error\(s\), 0 warning\(s\)/);
});

test('warnings: exit 0, or 1 with --strict', (t) => {
  const args = ['--mem-address', '0x8000000', '--mem-size', '1M', '--record-size', '5000', '--kernel-version', '6.12.117', '--cpus', '1'];
  t.is(run(args).status, 0);
  const strict = run([...args, '--strict']);
  t.is(strict.status, 1);
  t.regex(strict.stdout, /warning size-not-pow2: record_size 0x1388/);
});

test('errors exit 2; JSON has zones and problems with severity, code, message, fix', (t) => {
  const bad = runJson(['--cmdline', 'ramoops.mem_address=0x3000000 ramoops.mem_size=0x2000 memmap=0x2000$0x3000000', '--kernel-version', '6.1.0-56-amd64']);
  t.is(bad.status, 2);
  t.is(bad.json.exitCode, 2);
  t.is(bad.json.layout, null);
  t.like(bad.json.problems[0], { severity: 'error', code: 'no-room' });
  const good = runJson(['--cmdline', GOOD, '--kernel-version', '6.12.117']);
  t.is(good.status, 0);
  t.is(good.json.source, 'cmdline');
  t.deepEqual(good.json.layout?.zones[0], { kind: 'dmesg', index: 0, address: '0x8000000', size: 16384, payload: 16372, ecc: 0 });
  t.deepEqual(Object.keys(good.json.problems[0] ?? {}).slice(0, 4), ['severity', 'code', 'message', 'fix']);
});

test('--dts: the arm64 virt case of issue 8 warns about the initrd; the fixed node is clean', (t) => {
  const bad = join(dir, 'bad.dts');
  writeFileSync(bad, virtDts('record-size = <0x4000>; console-size = <0x4000>; no-map;', { at: '48000000' }));
  const r = runJson(['--dts', bad, '--arch', 'arm64', '--ram-size', '512M', '--initrd-size', '8M', '--kernel-version', '6.1.0-56-arm64']);
  t.is(r.json.source, 'dt');
  t.truthy(r.json.problems.find((p) => p.code === 'boot-image-collision'));
  t.is(r.status, 0);
  const good = join(dir, 'good.dts');
  writeFileSync(good, virtDts('record-size = <0x4000>; console-size = <0x4000>; no-map;', { at: '50000000' }).replace('0x0 0x100000>', '0x0 0xfc000>'));
  const g = run([
    '--dts',
    good,
    '--cmdline',
    'console=ttyAMA0 quiet',
    '--arch',
    'arm64',
    '--ram-size',
    '512M',
    '--initrd-size',
    '8M',
    '--kernel-version',
    '6.1.0-56-arm64',
    '--strict',
  ]);
  t.is(g.status, 0, g.stdout);
});

test('--dtb: our blob in, the same verdict; DT refusals exit 2', (t) => {
  const blob = join(dir, 'overflow.dtb');
  writeFileSync(blob, writeFdt(parseDts(virtDts('record-size = <0xffffffff>; no-map;'))));
  const r = runJson(['--dtb', blob]);
  t.is(r.status, 2);
  t.like(r.json.problems[0], { severity: 'error', code: 'dt-value-overflow' });
});

test('--dts with region flags is a usage error', (t) => {
  const f = join(dir, 'x.dts');
  writeFileSync(f, virtDts('record-size = <0x4000>;'));
  const r = run(['--dts', f, '--mem-size', '1M']);
  t.is(r.status, 2);
  t.regex(r.stderr, /the device tree gives the configuration/);
});

test('--svg writes a picture with the problems', (t) => {
  const svg = join(dir, 'map.svg');
  const r = run(['--cmdline', GOOD.replace('memmap=0x100000$0x8000000 ', ''), '--svg', svg]);
  t.is(r.status, 0);
  const text = readFileSync(svg, 'utf8');
  t.regex(text, /^<svg xmlns/);
  t.regex(text, /region-not-reserved/);
});

// The boot proofs themselves are in test/integration/validate-boot*.test.ts (real guests).
test('--arch: x86_64 (or x86) and arm64 for flags; a device tree implies arm64 and refuses x86_64, with or without --boot', (t) => {
  const flags = ['--mem-address', '0x8000000', '--mem-size', '1M', '--kernel-version', '6.1.0-56-amd64'];
  t.is(run([...flags, '--arch', 'x86_64']).status, 0);
  t.is(run([...flags, '--arch', 'x86']).status, 0);
  t.is(run([...flags, '--arch', 'riscv']).status, 2);
  const f = join(dir, 'arch.dts');
  writeFileSync(f, virtDts('record-size = <0x4000>; no-map;'));
  for (const extra of [[], ['--boot']]) {
    for (const input of [
      ['--dts', f],
      ['--dtb', join(dir, 'never-read.dtb')],
    ]) {
      const r = run([...input, '--arch', 'x86_64', ...extra]);
      t.is(r.status, 2, `${input[0] ?? ''} ${extra.join(' ')}`);
      t.regex(r.stderr, /--arch: x86_64 with --dt[sb]: a device tree configures ramoops on arm64 here .*x86 kernels never read \/reserved-memory/);
    }
  }
  t.is(run(['--dts', f, '--arch', 'arm64']).status, 0);
  t.is(run(['--dts', f]).status, 0);
  t.is(validateArch({ dts: f }), undefined, 'not given: the validator implies arm64 for a DT without applying the QEMU loader rules');
  t.is(bootArch({ dts: f }), 'arm64');
  t.is(bootArch({}), 'x86');
  t.is(bootArch({ arch: 'x86_64' }), 'x86');
  t.is(bootArch({ arch: 'arm64' }), 'arm64');
  t.throws(() => validateArch({ ssh: 'root@board', boot: true }), { message: /not --ssh/ });
});

test('--boot refuses, before anything boots (exit 2): --ssh, and DT nodes the proof would boot differently', (t) => {
  const r = run(['--ssh', 'root@127.0.0.1:1', '--key', join(dir, 'no-key'), '--boot']);
  t.is(r.status, 2);
  t.regex(r.stderr, /--boot: proves configurations given by flags.*not --ssh/);
  const cases: readonly (readonly [string, string, RegExp])[] = [
    ['no-map missing', virtDts('record-size = <0x4000>;'), /it has no no-map/],
    [
      'outside /reserved-memory',
      '/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; ramoops@50000000 { compatible = "ramoops"; reg = <0 0x50000000 0 0x100000>; record-size = <0x4000>; no-map; }; };',
      /not a direct child of \/reserved-memory/,
    ],
    [
      'record-size above INT_MAX',
      virtDts('record-size = <0xffffffff>; no-map;'),
      /the kernel refuses \/reserved-memory\/ramoops@50000000 while reading it \(record-size 4294967295 > INT_MAX\)/,
    ],
  ];
  for (const [name, text, why] of cases) {
    const f = join(dir, `boot-${name.replace(/\W+/g, '-')}.dts`);
    writeFileSync(f, text);
    const b = run(['--dts', f, '--boot']);
    t.is(b.status, 2, name);
    t.regex(b.stderr, why, name);
    t.is(b.stdout, '', `${name}: nothing validated or booted`);
  }
  const node = (extra: string): DtRamoops => ramoopsNodeFromDt(parseDts(virtDts(`record-size = <0x4000>; ${extra}`)));
  t.is(dtBootRefusal(node('no-map;')), undefined);
  t.regex(dtBootRefusal(node('')) ?? '', /no no-map/);
});

test('--ssh: reads a running machine (in-process server) and validates what it reports', async (t) => {
  const hostKey = ed25519Pair('fake-machine');
  const user = ed25519Pair('user');
  const keyFile = join(dir, 'id');
  writeFileSync(keyFile, user.privateKey, { mode: 0o600 });
  const report = [
    '== params',
    'mem_address=134217728',
    'mem_size=1048576',
    'record_size=16384',
    'console_size=4096',
    'ftrace_size=4096',
    'pmsg_size=4096',
    'ecc=0',
    'max_reason=2',
    '== cmdline',
    'console=ttyS0 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.record_size=0x4000',
    '== release',
    '6.1.192',
    '== possible',
    '0-3',
    '== dt',
    '',
  ].join('\n');
  const server = new ssh2.Server({ hostKeys: [hostKey.privateKey] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec) => {
        const s = acceptExec();
        s.write(report);
        s.exit(0);
        s.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const child = spawn(process.execPath, [cli, 'validate', '--ssh', `root@127.0.0.1:${port}`, '--key', keyFile, '--json']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const json = JSON.parse(out) as JsonOut & { notes: string[] };
    t.is(json.source, 'modparams');
    t.truthy(
      json.problems.find((p) => p.code === 'region-not-reserved'),
      'the remote command line has no memmap=',
    );
    t.truthy(json.problems.find((p) => p.code === 'version-sysfs-ecc'));
    t.is(json.layout?.zones.filter((z) => z.kind === 'ftrace').length, 4, 'per-CPU ftrace over the 4 possible CPUs');
    t.regex(json.notes.join('\n'), /accepted without verification/);
    t.is(status, 0);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
