// What a user sees for the likeliest mistakes of each command, through the built CLI as a child
// process: stdout, stderr and the exit code, compared with test/golden/cli/<case>.txt (the cases
// of issue 16 and a few more per command). RAMOOPS_UPDATE_GOLDEN=1 rewrites the files; review
// the diff like code. Paths in the messages are relative to a scratch folder, so they are stable.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir, repoRoot } from '../../helpers/paths.js';

const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const goldenDir = join(repoRoot(), 'test', 'golden', 'cli');
const work = mkdtempSync(join(tmpdir(), 'rh-messages-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

// A 1 MiB region at 0x8000000 with 16 KiB records: 66 zones, as in the issue.
const REGION = ['--mem-address', '0x8000000', '--mem-size', '0x100000', '--record-size', '0x4000'];
const C61 = join(fixturesDir(), 'c61-full-deflate');
const c61Cmdline = (): string => readFileSync(join(C61, 'guest-info.txt'), 'utf8').split('\n')[1] ?? '';

/** Bytes that carry no ramoops signature anywhere (a fixed xorshift, so the golden text is stable). */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test.before(() => {
  writeFileSync(join(work, 'small.bin'), new Uint8Array(1000));
  writeFileSync(join(work, 'empty.bin'), new Uint8Array(0));
  writeFileSync(join(work, 'noise.bin'), noise(0x100000));
  writeFileSync(join(work, 'a-file'), 'x');
  writeFileSync(join(work, 'Image'), 'not booted: --dry-run only names it');
  mkdirSync(join(work, 'full'));
  writeFileSync(join(work, 'full', 'old-file'), 'x');
  mkdirSync(join(work, 'folder'));
});

interface Case {
  readonly name: string;
  readonly args: () => readonly string[];
  /** The README's exit code; 2 (a refusal, one line) unless given. */
  readonly status?: number;
}

/** A kernel spec that is never on disk here: --dry-run names it instead of looking it up, so the text does not depend on the cache. */
const UNBUILT = ['--kernel', 'build:debian-6.1:base,pstore-full', '--accel', 'tcg', '--boot-path', 'bzimage'];

const cases: readonly Case[] = [
  { name: 'no-command', args: () => [] },
  { name: 'unknown-flag', args: () => ['extract', 'small.bin', '--out', 'o', '--bogus'] },
  { name: 'extract-no-dump-arg', args: () => ['extract', '--out', 'o'] },
  { name: 'extract-missing-dump', args: () => ['extract', 'missing.bin', ...REGION, '--out', 'o'] },
  { name: 'extract-dump-is-folder', args: () => ['extract', 'folder', ...REGION, '--out', 'o'] },
  { name: 'extract-out-is-file', args: () => ['extract', 'small.bin', ...REGION, '--out', 'a-file'] },
  { name: 'extract-out-under-file', args: () => ['extract', 'small.bin', ...REGION, '--out', 'a-file/sub'] },
  { name: 'extract-out-not-empty', args: () => ['extract', 'small.bin', ...REGION, '--out', 'full'] },
  { name: 'extract-region-outside-dump', args: () => ['extract', 'small.bin', '--base', '0x8000000', ...REGION, '--out', 'o'] },
  { name: 'extract-empty-dump', args: () => ['extract', 'empty.bin', '--base', '0x8000000', ...REGION, '--out', 'o'] },
  { name: 'extract-no-signature', args: () => ['extract', 'noise.bin', '--base', '0x8000000', ...REGION, '--out', 'o'] },
  { name: 'extract-no-signature-json', args: () => ['extract', 'noise.bin', '--base', '0x8000000', ...REGION, '--out', 'o', '--json'] },
  { name: 'extract-missing-system-map', args: () => ['extract', 'small.bin', ...REGION, '--system-map', 'nope.map', '--out', 'o'] },
  { name: 'extract-auto-nothing', args: () => ['extract', 'noise.bin', '--auto', '--out', 'o'] },
  { name: 'extract-bad-size', args: () => ['extract', 'small.bin', '--mem-address', '0x8000000', '--mem-size', 'lots', '--out', 'o'] },
  { name: 'scan-missing-dump', args: () => ['scan', 'missing.bin'] },
  { name: 'scan-dump-is-folder', args: () => ['scan', 'folder'] },
  { name: 'scan-missing-dump-json', args: () => ['scan', 'missing.bin', '--json'] },
  { name: 'harvest-local-missing', args: () => ['harvest', '--local', 'nope', '--out', 'o'] },
  { name: 'harvest-no-machine', args: () => ['harvest', '--out', 'o'] },
  { name: 'layout-no-size', args: () => ['layout', '--mem-address', '0x8000000'] },
  { name: 'layout-no-room', args: () => ['layout', '--mem-address', '0x8000000', '--mem-size', '0x1000', '--record-size', '0x4000'] },
  {
    name: 'layout-console-too-big-json',
    args: () => ['layout', ...REGION, '--console-size', '0x100000', '--kernel-version', '6.1.192', '--json'],
  },
  { name: 'run-timeout-unknown-phase', args: () => ['run', '--timeout', 'bot=120', '--dry-run'] },
  { name: 'run-timeout-bad-seconds', args: () => ['run', '--timeout', 'boot=2m', '--dry-run'] },
  { name: 'matrix-timeout-unknown-phase', args: () => ['matrix', '--kernels', 'debian', '--timeout', 'crash=60'] },
  { name: 'run-kernel-missing', args: () => ['run', '--kernel', 'bzImage-nope', '--dry-run'] },
  {
    name: 'matrix-dry-run',
    status: 0,
    args: () => [
      'matrix',
      '--dry-run',
      '--kernels',
      'build:debian-6.1:base,pstore-full',
      '--accel',
      'tcg',
      '--configs',
      '',
      'ecc:ramoops.ecc=16',
      '--out',
      'o',
    ],
  },
  { name: 'run-dry-run', status: 0, args: () => ['run', '--dry-run', ...UNBUILT, '--cmdline', 'ramoops.ecc=16 nokaslr', '--out', 'o'] },
  {
    name: 'run-dry-run-arm64-json',
    status: 0,
    args: () => ['run', '--dry-run', '--arch', 'arm64', '--accel', 'tcg', '--kernel', 'Image', '--json', '--out', 'o'],
  },
];

interface Seen {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The scratch folder and QEMU's temp parent (/dev/shm or the OS's) as placeholders: the same text on every machine. */
const stable = (text: string): string => text.replaceAll(work, '<work>').replace(/(\/dev\/shm|\/tmp)\/ramoops-qemu-/g, '<temp>/ramoops-qemu-');
const render = (c: Case, r: Seen): string => stable(`$ ramoops ${c.args().join(' ')}\nexit ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);

for (const c of cases) {
  test(`${c.name}: one line, the README's exit code`, (t) => {
    const r = spawnSync(process.execPath, [cli, ...c.args()], { cwd: work, encoding: 'utf8' });
    const seen = render(c, r);
    const file = join(goldenDir, `${c.name}.txt`);
    if (process.env['RAMOOPS_UPDATE_GOLDEN'] === '1') writeFileSync(file, seen);
    t.is(seen, readFileSync(file, 'utf8'));
    t.is(r.status, c.status ?? 2);
    // Every refusal is exit 2 with exactly one line (on stdout as JSON with --json).
    if (c.status !== undefined) t.is(r.stderr, '');
    else if (c.args().includes('--json')) t.is((JSON.parse(r.stdout) as { error: { exitCode: number } }).error.exitCode, 2);
    else t.is(r.stderr.trimEnd().split('\n').length, 1);
    // Nothing was created for a refused --out, nor by a dry run.
    t.false(existsSync(join(work, 'o')));
  });
}

test('run --dry-run: the command lines a run saves, starting nothing', (t) => {
  const r = spawnSync(process.execPath, [cli, 'run', '--dry-run', ...UNBUILT, '--json', '--out', 'o'], { cwd: work, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { kernelCmdline: string; qemuArgv: string[]; qemuCmdline: string };
  // The guest gets the region reserved and the run's key words, masked.
  t.regex(d.kernelCmdline, /memmap=0x100000\$0x8000000 ramoops\.mem_address=0x8000000 .* rh\.key=<run key> rh\.hostkey=<run host key>$/);
  t.is(d.qemuArgv[d.qemuArgv.indexOf('-append') + 1], d.kernelCmdline);
  t.is(d.qemuArgv[0], 'qemu-system-x86_64');
  // The shell line splits back into the argv (single quotes only).
  const words = [...d.qemuCmdline.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
  t.deepEqual(words, d.qemuArgv);
  t.false(existsSync(join(work, 'o')));
});

test('extract --force clears a non-empty --out and writes only this dump', (t) => {
  const out = join(work, 'forced');
  mkdirSync(out);
  writeFileSync(join(out, 'stale-file'), 'x');
  const r = spawnSync(
    process.execPath,
    [cli, 'extract', join(C61, 'region.bin'), '--base', '0x8000000', '--cmdline', c61Cmdline(), '--kernel-version', '6.1.192', '--out', out, '--force'],
    { encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stderr);
  const files = readdirSync(out);
  t.false(files.includes('stale-file'));
  t.true(files.some((f) => f.startsWith('dmesg-ramoops-')));
});

test('extract: repeated per-zone warnings are one line with count and span; --verbose lists each', (t) => {
  // The c61 region read at the wrong size: zones past the dump's end are not captured.
  const base = [
    'extract',
    join(C61, 'region.bin'),
    '--base',
    '0x8000000',
    '--cmdline',
    c61Cmdline().replace(/ramoops\.mem_size=\S+/, 'ramoops.mem_size=0x400000'),
    '--kernel-version',
    '6.1.192',
  ];
  const short = spawnSync(process.execPath, [cli, ...base, '--out', join(work, 'w1')], { encoding: 'utf8' });
  const long = spawnSync(process.execPath, [cli, ...base, '--out', join(work, 'w2'), '--verbose'], { encoding: 'utf8' });
  t.is(short.status, 1, short.stderr);
  const collapsed = short.stderr.split('\n').filter((l) => l.includes('zone-not-captured'));
  t.is(collapsed.length, 1);
  t.regex(collapsed[0] ?? '', /^warning: \d+ x zone-not-captured, 0x[0-9a-f]+ to 0x[0-9a-f]+ \(first: /);
  const count = Number(/(\d+) x zone-not-captured/.exec(collapsed[0] ?? '')?.[1]);
  t.is(long.stderr.split('\n').filter((l) => l.includes('is not in the dump')).length, count);
});
