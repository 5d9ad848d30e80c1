// Fuzz contract: thousands of mutated and truncated real captures go through the parser; only
// our typed errors may escape, nothing hangs, and every file name stays a plain name.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromCmdline, extract, isRamoopsError, rawMemory, type RamoopsConfig } from '../../src/index.js';
import { prepareOutDir, writeConfined, UnsafeNameError } from '../../harness/io/artifacts.js';
import { loadFixture } from '../helpers/fixtures.js';

const SAFE = /^(dmesg|console|pmsg|ftrace)-ramoops-\d+(\.enc\.z)?$/;
const fixtures = ['deb61-noecc', 'deb61-ecc16-1panic', 'c61-full-deflate', 'c61-zstd-ecc16-full'].map(loadFixture);

/** Zone starts are where mutations hurt most: header fields, record headers, stream starts. */
function hotOffsets(cfg: RamoopsConfig, len: number): number[] {
  const out: number[] = [];
  for (let o = 0; o < len; o += 16448) out.push(o, o + 4, o + 8, o + 12, o + 30);
  void cfg;
  return out.filter((o) => o < len);
}

/** "Never hangs": any single extraction far slower than this is a hang for our purposes. */
const HANG_MS = 10_000;
let slowest = 0;

function runOne(region: Uint8Array, config: RamoopsConfig, base: number): void {
  const t0 = Date.now();
  try {
    const x = extract(rawMemory(region, base), config);
    for (const f of x.files) if (!SAFE.test(f.name)) throw new Error(`unsafe name ${f.name}`);
  } catch (e) {
    if (!isRamoopsError(e)) throw e;
  } finally {
    slowest = Math.max(slowest, Date.now() - t0);
  }
  if (Date.now() - t0 > HANG_MS) throw new Error(`one extraction took ${Date.now() - t0} ms: treated as a hang`);
}

for (const fx of fixtures) {
  test(`${fx.name}: 300 random mutations and truncations give records or typed errors`, (t) => {
    const config = configFromCmdline(fx.cmdline, fx.release);
    const hot = hotOffsets(config, fx.region.length);
    const started = Date.now();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.constantFrom(...hot), fc.nat(fx.region.length - 1)), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 8 })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.oneof(fc.constant(fx.region.length), fc.nat(fx.region.length)),
        fc.integer({ min: -0x2000, max: 0x2000 }),
        (muts, keep, shift) => {
          const r = Uint8Array.from(fx.region.subarray(0, keep));
          for (const [off, val, n] of muts) for (let i = 0; i < n && off + i < r.length; i++) r[off + i] = val;
          runOne(r, config, config.memAddress + shift);
        },
      ),
      { numRuns: 300, seed: 0x5eed + fx.name.length },
    );
    t.log(`300 runs in ${Date.now() - started} ms, slowest ${slowest} ms`);
    t.true(slowest < HANG_MS);
  });
}

test('random configurations over random bytes: typed errors only', (t) => {
  const bytes = new Uint8Array(1 << 16);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 4096 }),
      fc.record({
        memSize: fc.integer({ min: 1, max: 1 << 17 }),
        recordSize: fc.nat(1 << 16),
        consoleSize: fc.nat(1 << 14),
        ftraceSize: fc.nat(1 << 14),
        pmsgSize: fc.nat(1 << 14),
        ecc: fc.nat(130),
      }),
      (seed, s) => {
        for (let i = 0; i < bytes.length; i++) bytes[i] = seed[i % seed.length] ?? 0;
        let config: RamoopsConfig;
        try {
          config = configFromCmdline(
            `ramoops.mem_address=0 ramoops.mem_size=${s.memSize} ramoops.record_size=${s.recordSize} ramoops.console_size=${s.consoleSize} ramoops.ftrace_size=${s.ftraceSize} ramoops.pmsg_size=${s.pmsgSize} ramoops.ecc=${s.ecc}`,
            '6.1.0-56-amd64',
          );
        } catch (e) {
          if (!isRamoopsError(e)) throw e;
          return;
        }
        runOne(bytes, config, 0);
      },
    ),
    { numRuns: 1000, seed: 42 },
  );
  t.pass();
});

test('output names are confined: traversal, absolute paths and planted symlinks are refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rh-conf-'));
  try {
    const out = prepareOutDir(join(dir, 'out'));
    for (const bad of ['../x', '/etc/passwd', 'a/b', '..', '.', '', '.hidden']) {
      t.throws(() => writeConfined(out, bad, new Uint8Array(1)), { instanceOf: UnsafeNameError }, bad);
    }
    writeFileSync(join(dir, 'victim'), 'keep');
    symlinkSync(join(dir, 'victim'), join(out, 'dmesg-ramoops-0'));
    t.throws(() => writeConfined(out, 'dmesg-ramoops-0', new Uint8Array([1, 2])));
    t.is(readFileSync(join(dir, 'victim'), 'utf8'), 'keep');
    t.deepEqual(readdirSync(dir).sort(), ['out', 'victim']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
