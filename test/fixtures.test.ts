// The ground truth: for every real capture, extraction with the guest's own configuration
// must give exactly the guest's /sys/fs/pstore (names, bytes, stat sizes, dmesg mtimes),
// through the library API, through a raw dump at another base, and through the CLI.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract, extractRegion, rawMemory } from '../src/index.js';
import { fixtureConfig, fixtureConfigArgs, fixtureSymbolArgs, fixtureSymbols, loadFixtures } from './helpers/fixtures.js';
import { repoRoot } from './helpers/paths.js';

const fixtures = loadFixtures();

test('there are real captures to test against', (t) => {
  t.true(fixtures.length >= 7, `found ${fixtures.length}`);
});

for (const fx of fixtures) {
  // ftrace text is named by the reading boot: its System.map, shifted by its KASLR offset when it had one.
  const opts = fixtureSymbols(fx);

  test(`${fx.name}: files equal the guest's /sys/fs/pstore`, (t) => {
    const config = fixtureConfig(fx);
    const x = extractRegion(fx.region, config, opts);
    t.deepEqual(x.files.map((f) => f.name).sort(), fx.expected.map((e) => e.name).sort());
    for (const e of fx.expected) {
      const f = x.files.find((ff) => ff.name === e.name);
      if (!f) continue;
      t.is(f.size, e.size, `${e.name}: stat size`);
      t.true(Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), `${e.name}: bytes differ`);
      if (f.type === 'dmesg') t.is(f.mtime?.seconds, e.mtime, `${e.name}: mtime`);
    }
  });

  test(`${fx.name}: same result without a kernel version (layout inferred from signatures)`, (t) => {
    const config = fixtureConfig(fx, false);
    const x = extractRegion(fx.region, config, opts);
    t.deepEqual(x.files.map((f) => f.name).sort(), fx.expected.map((e) => e.name).sort());
    for (const e of fx.expected) {
      const f = x.files.find((ff) => ff.name === e.name);
      t.true(!!f && Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), `${e.name}: bytes differ`);
    }
  });

  test(`${fx.name}: the region inside a larger raw dump at a lower base gives the same files`, (t) => {
    const config = fixtureConfig(fx);
    const pad = 0x3000;
    const dump = new Uint8Array(pad + fx.region.length + 0x1000).fill(0xa5);
    dump.set(fx.region, pad);
    const x = extract(rawMemory(dump, config.memAddress - pad), config, opts);
    for (const e of fx.expected) {
      const f = x.files.find((ff) => ff.name === e.name);
      t.true(!!f && Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), `${e.name}`);
    }
  });
}

test('CLI: ramoops extract reproduces every capture on disk, with dmesg mtimes', (t) => {
  const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
  for (const fx of fixtures) {
    const out = mkdtempSync(join(tmpdir(), 'rh-fx-'));
    try {
      const args = [
        cli,
        'extract',
        join(fx.dir, 'region.bin'),
        '--base',
        fx.memAddress,
        ...fixtureConfigArgs(fx),
        '--kernel-version',
        fx.release,
        '--out',
        out,
        '--json',
        ...fixtureSymbolArgs(fx),
      ];
      const json = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as { files: { name: string }[] };
      t.is(json.files.length, fx.expected.length, fx.name);
      t.deepEqual(readdirSync(out).sort(), fx.expected.map((e) => e.name).sort(), fx.name);
      for (const e of fx.expected) {
        t.true(readFileSync(join(out, e.name)).equals(Buffer.from(e.bytes)), `${fx.name}/${e.name}`);
        if (e.name.startsWith('dmesg')) t.is(Math.floor(statSync(join(out, e.name)).mtimeMs / 1000), e.mtime, `${fx.name}/${e.name} mtime`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
});

test('CLI: a region outside the dump is a clear error naming the address, exit 1 with what is readable', (t) => {
  const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
  const fx = fixtures.find((f) => f.name === 'deb61-noecc');
  if (!fx) return t.fail('deb61-noecc missing');
  const dir = mkdtempSync(join(tmpdir(), 'rh-short-'));
  try {
    // Keep only the first half of the region: dmesg zone 0 survives, later zones are cut off.
    writeFileSync(join(dir, 'half.bin'), fx.region.subarray(0, fx.region.length / 2));
    let code = 0;
    let stderr = '';
    try {
      execFileSync(
        process.execPath,
        [cli, 'extract', join(dir, 'half.bin'), '--base', fx.memAddress, '--cmdline', fx.cmdline, '--kernel-version', fx.release, '--out', join(dir, 'out')],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (e) {
      const err = e as { status: number; stderr: string };
      code = err.status;
      stderr = err.stderr;
    }
    t.is(code, 1);
    t.regex(stderr, /zone \d+ at 0x8[0-9a-f]+ .* is not in the dump/);
    t.deepEqual(readdirSync(join(dir, 'out')), ['dmesg-ramoops-0']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
