// The byte order of the writing CPU on real captures: a region rewritten as a big-endian
// kernel of the same word size would have written it (every zone header's sig/start/size and
// every u64 of the ftrace records swapped, text and compressed bytes left alone) must extract
// to the very files the little-endian guest showed in /sys/fs/pstore, given abi big-endian; and
// read as little-endian it must not. Captures without ECC only: the parity covers the header's
// bytes as written, so a swapped header would be "corrected" back.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuAbi } from '../../../src/config/abi.js';
import { extractRegion } from '../../../src/index.js';
import { fixtureConfig, fixtureSymbolArgs, fixtureSymbols, loadFixture, type Fixture } from '../../helpers/fixtures.js';
import { repoRoot } from '../../helpers/paths.js';

const BE64 = cpuAbi(64, 'be');

function swap(b: Uint8Array, at: number, n: number): void {
  b.subarray(at, at + n).reverse();
}

/** The region as a big-endian 64-bit kernel would have left it (zones read from the little-endian original). */
function asBigEndian(fx: Fixture): Uint8Array {
  const config = fixtureConfig(fx);
  const x = extractRegion(fx.region, config, fixtureSymbols(fx));
  const out = Uint8Array.from(fx.region);
  const dv = new DataView(fx.region.buffer, fx.region.byteOffset, fx.region.byteLength);
  for (const z of x.layout.zones) {
    const at = z.address - config.memAddress;
    const start = dv.getInt32(at + 4, true);
    const size = dv.getInt32(at + 8, true);
    for (const f of [0, 4, 8]) swap(out, at + f, 4);
    const report = x.zones.find((r) => r.kind === z.kind && r.index === z.index);
    if (z.kind !== 'ftrace' || report?.status !== 'ok') continue;
    // The old log is data[start..size) then data[0..start); records start at size % 24 of it.
    const data = at + 12;
    const pos = (i: number): number => data + (i < size - start ? start + i : i - (size - start));
    for (let r = size % 24; r + 24 <= size; r += 24) {
      for (let f = 0; f < 24; f += 8) {
        const bytes = Array.from({ length: 8 }, (_, k) => out[pos(r + f + k)] ?? 0).reverse();
        bytes.forEach((v, k) => (out[pos(r + f + k)] = v));
      }
    }
  }
  return out;
}

for (const name of ['c61-kaslr-smp2-ftrace', 'a61-dt-percpu-smp2-ftrace', 'c61-full-deflate']) {
  test(`${name} rewritten big-endian: abi 64-bit big-endian gives the guest's files byte for byte`, (t) => {
    const fx = loadFixture(name);
    const config = fixtureConfig(fx);
    t.is(config.eccSize, 0, 'a capture without ECC');
    const be = asBigEndian(fx);
    const x = extractRegion(be, { ...config, abi: BE64 }, fixtureSymbols(fx));
    t.deepEqual(x.files.map((f) => f.name).sort(), fx.expected.map((e) => e.name).sort());
    for (const e of fx.expected) {
      const f = x.files.find((ff) => ff.name === e.name);
      t.true(f !== undefined && Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), `${e.name}: bytes differ`);
    }
    if (name.includes('ftrace'))
      t.true(
        x.files.some((f) => f.type === 'ftrace'),
        'the ftrace file is among them',
      );
    const asLe = extractRegion(be, config, fixtureSymbols(fx));
    t.is(asLe.files.length, 0, 'read as little-endian, no zone carries the signature');
  });
}

test('CLI: extract --config with "byte_order": "be" reads the rewritten c61-full-deflate to the guest\'s files', (t) => {
  const fx = loadFixture('c61-full-deflate');
  const dir = mkdtempSync(join(tmpdir(), 'rh-be-'));
  try {
    writeFileSync(join(dir, 'region.bin'), asBigEndian(fx));
    writeFileSync(join(dir, 'abi.json'), JSON.stringify({ byte_order: 'be' }));
    const out = join(dir, 'out');
    const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
    const args = [cli, 'extract', join(dir, 'region.bin'), '--base', fx.memAddress, '--cmdline', fx.cmdline, '--config', join(dir, 'abi.json')];
    execFileSync(process.execPath, [...args, '--kernel-version', fx.release, '--out', out, '--json', ...fixtureSymbolArgs(fx)], { encoding: 'utf8' });
    t.deepEqual(readdirSync(out).sort(), fx.expected.map((e) => e.name).sort());
    for (const e of fx.expected) t.true(readFileSync(join(out, e.name)).equals(Buffer.from(e.bytes)), e.name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
