// The ground truth for the other backends: for every real capture, the backend's storage file
// alone must give exactly the guest's /sys/fs/pstore (names, bytes, sizes, mtimes), through
// the library and through `ramoops extract` (the format known from the file's first bytes).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectBackend, extractBackend, parseKernelVersion, type BackendExtraction } from '../src/index.js';
import { loadBackendFixtures, type BackendFixture } from './helpers/backend-fixtures.js';
import { repoRoot } from './helpers/paths.js';

const fixtures = loadBackendFixtures();
const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');

test('there are real ERST and EFI captures to test against', (t) => {
  t.deepEqual([...new Set(fixtures.map((f) => f.backend))].sort(), ['efi', 'erst']);
});

function sameAsGuest(
  t: { is: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void; true: (a: boolean, m?: string) => void },
  fx: BackendFixture,
  x: BackendExtraction,
): void {
  t.deepEqual(x.files.map((f) => f.name).sort(), fx.expected.map((e) => e.name).sort());
  for (const e of fx.expected) {
    const f = x.files.find((ff) => ff.name === e.name);
    if (!f) continue;
    t.is(f.size, e.size, `${e.name}: size`);
    t.true(Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), `${e.name}: bytes differ`);
    t.is(f.mtime?.seconds, e.mtime, `${e.name}: mtime`);
  }
}

for (const fx of fixtures) {
  test(`${fx.name}: the ${fx.backend} store gives the guest's /sys/fs/pstore byte for byte`, (t) => {
    const x = extractBackend(fx.backend, fx.bytes, { kernel: parseKernelVersion(fx.release) });
    sameAsGuest(t, fx, x);
    t.deepEqual(x.warnings, []);
  });

  test(`${fx.name}: the file's first bytes say it is a ${fx.backend} store`, (t) => {
    t.is(detectBackend(fx.bytes.subarray(0, 0x40)), fx.backend);
  });

  test(`${fx.name}: ramoops extract writes the guest's files with their mtimes`, (t) => {
    const out = mkdtempSync(join(tmpdir(), 'rh-backend-'));
    try {
      const r = spawnSync(process.execPath, [cli, 'extract', fx.storage, '--kernel-version', fx.release, '--out', join(out, 'o')], { encoding: 'utf8' });
      t.is(r.status, 0, r.stderr);
      t.deepEqual(readdirSync(join(out, 'o')).sort(), fx.expected.map((e) => e.name).sort());
      for (const e of fx.expected) {
        const p = join(out, 'o', e.name);
        t.true(readFileSync(p).equals(Buffer.from(e.bytes)), `${e.name}: bytes differ`);
        t.is(Math.floor(statSync(p).mtimeMs / 1000), e.mtime, `${e.name}: mtime`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
