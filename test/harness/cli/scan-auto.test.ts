// The offline path a user takes with a dump and no settings: `ramoops scan` then
// `ramoops extract --auto`, through the CLI, on every real capture placed in a larger dump.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureConfig, fixtureSymbolArgs, loadFixtures } from '../../helpers/fixtures.js';
import { repoRoot } from '../../helpers/paths.js';

const cli = (): string => join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');

for (const fx of loadFixtures()) {
  test(`${fx.name}: scan prints the guest's configuration; extract --auto writes the guest's files`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rh-auto-'));
    try {
      const used = fixtureConfig(fx);
      // The region 64 MiB into the dump (physical 0x4000000 for the x86 captures at 0x8000000).
      const base = used.memAddress - 0x4000000;
      const dump = new Uint8Array(used.memAddress - base + fx.region.length + 0x300000);
      dump.set(fx.region, used.memAddress - base);
      writeFileSync(join(dir, 'dump.bin'), dump);
      const json = JSON.parse(
        execFileSync(process.execPath, [cli(), 'scan', join(dir, 'dump.bin'), '--base', `0x${base.toString(16)}`, '--json'], { encoding: 'utf8' }),
      ) as {
        regions: { cmdline: string; confidence: string }[];
      };
      t.is(json.regions.length, 1);
      const line = json.regions[0]?.cmdline ?? '';
      for (const w of [
        `ramoops.mem_address=0x${used.memAddress.toString(16)}`,
        `ramoops.mem_size=0x${used.memSize.toString(16)}`,
        `ramoops.record_size=0x${used.recordSize.toString(16)}`,
        `ramoops.ecc=${used.eccSize}`,
      ]) {
        t.true(line.includes(w), `${w} in ${line}`);
      }
      const args = [cli(), 'extract', join(dir, 'dump.bin'), '--base', `0x${base.toString(16)}`, '--auto', '--out', join(dir, 'out')];
      args.push(...fixtureSymbolArgs(fx));
      execFileSync(process.execPath, args, { encoding: 'utf8' });
      t.deepEqual(readdirSync(join(dir, 'out')).sort(), fx.expected.map((e) => e.name).sort());
      for (const e of fx.expected) t.true(readFileSync(join(dir, 'out', e.name)).equals(Buffer.from(e.bytes)), e.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('extract --auto on a dump without ramoops: a clear message, exit 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rh-auto-'));
  try {
    writeFileSync(join(dir, 'empty.bin'), new Uint8Array(1 << 20));
    let code = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [cli(), 'extract', join(dir, 'empty.bin'), '--auto', '--out', join(dir, 'out')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      code = (e as { status: number }).status;
      stderr = (e as { stderr: string }).stderr;
    }
    t.is(code, 2);
    t.regex(stderr, /no ramoops region found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const f of ['qemu-region.elf', 'qemu-zlib.flat', 'qemu-zlib.kdump', 'reencoded-lzo.kdump']) {
  test(`scan reads ${f} (a real QEMU dump holding the c61-full-deflate region at 0x1000000) by physical address`, (t) => {
    const out = execFileSync(process.execPath, [cli(), 'scan', join(repoRoot(), 'test/core/dump/fixtures', f), '--json'], { encoding: 'utf8' });
    const json = JSON.parse(out) as {
      regions: { memAddress: string; memSize: string; recordSize: number; consoleSize: number; ftraceSize: number; pmsgSize: number }[];
    };
    t.is(json.regions.length, 1);
    t.like(json.regions[0], { memAddress: '0x1000000', memSize: '0x100000', recordSize: 0x4000, consoleSize: 0x10000, ftraceSize: 0x8000, pmsgSize: 0x4000 });
  });
}
