// `ramoops extract` on every dump format: the real kdump fixtures (QEMU's flattened
// kdump-zlib and its lzo/snappy/zstd re-encodings) give the planted capture's files, and the
// format flags are checked at the edge.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFixtures } from '../../helpers/fixtures.js';
import { repoRoot } from '../../helpers/paths.js';
import { FIXTURE_RAM, REGION } from './fixtures/contents.js';

const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const fixtures = join(repoRoot(), 'test', 'core', 'dump', 'fixtures');
const capture = loadFixtures().find((f) => f.name === 'c61-full-deflate');

function run(args: readonly string[]): { status: number | null; stdout: string; stderr: string; files: string[] } {
  const out = mkdtempSync(join(tmpdir(), 'rh-cli-'));
  try {
    const r = spawnSync(process.execPath, [cli, 'extract', ...args, '--out', out], { encoding: 'utf8' });
    const files = readdirSync(out).sort();
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, files };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function configArgs(): string[] {
  if (!capture) throw new Error('fixture c61-full-deflate missing');
  return [
    '--cmdline',
    capture.cmdline,
    '--kernel-version',
    capture.release,
    '--mem-address',
    `0x${REGION.toString(16)}`,
    '--system-map',
    join(capture.dir, 'System.map'),
  ];
}

for (const [file, format] of [
  ['qemu-zlib.flat', 'auto'],
  ['qemu-zlib.kdump', 'kdump'],
  ['reencoded-lzo.kdump', 'auto'],
  ['reencoded-snappy.kdump', 'auto'],
  ['reencoded-zstd.kdump', 'kdump'],
] as const) {
  test(`extract --format ${format} ${file}: the capture's files`, (t) => {
    const r = run([join(fixtures, file), '--format', format, ...configArgs()]);
    t.is(r.status, 0, r.stderr);
    t.deepEqual(r.files, capture?.expected.map((e) => e.name).sort());
  });
}

test('extract --format qemu-ram --machine q35 --ram-size: a RAM file with the capture', (t) => {
  if (!capture) return t.fail();
  const dir = mkdtempSync(join(tmpdir(), 'rh-ram-'));
  try {
    // A small sparse-looking RAM file: zeros with the region at its physical address.
    const ram = Buffer.alloc(FIXTURE_RAM);
    Buffer.from(capture.region).copy(ram, REGION);
    const path = join(dir, 'ram');
    writeFileSync(path, ram);
    const r = run([path, '--format', 'qemu-ram', '--machine', 'q35', '--ram-size', '48M', ...configArgs()]);
    t.is(r.status, 0, r.stderr);
    t.deepEqual(r.files, capture.expected.map((e) => e.name).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--machine without --format qemu-ram, and --format elf on a kdump file: exit 2 with the reason', (t) => {
  const a = run([join(fixtures, 'qemu-zlib.kdump'), '--machine', 'pc', ...configArgs()]);
  t.is(a.status, 2);
  t.regex(a.stderr, /only apply to --format qemu-ram/);
  const b = run([join(fixtures, 'qemu-zlib.kdump'), '--format', 'elf', ...configArgs()]);
  t.is(b.status, 2);
  t.regex(b.stderr, /not an ELF file/);
});

test('a region the kdump does not hold at all: exit 2, one JSON error naming both ranges', (t) => {
  // Nothing of the region is in the dump: an input error (issue 16), not a partial extraction.
  const r = run([join(fixtures, 'qemu-zlib.kdump'), ...configArgs().slice(0, 4), '--mem-address', '0x4000000', '--json']);
  t.is(r.status, 2, r.stderr);
  const json = JSON.parse(r.stdout) as { error: { message: string; exitCode: number } };
  t.is(json.error.exitCode, 2);
  t.regex(json.error.message, /^the region 0x4000000-0x[0-9a-f]+ is not in a dump that covers 0x[0-9a-f]+-0x[0-9a-f]+.*: is --base \/ mem_address right\?$/);
});
