// pstore file names (what is accepted from a machine) and archive names (stable per record).
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, archiveName, isSafePstoreName, parsePstoreName, utcStamp, type HarvestedFile } from '../../../src/harvest/index.js';
import { loadFixtures } from '../../helpers/fixtures.js';
import { fixturesDir } from '../../helpers/paths.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('pstore names are taken apart; anything pstore would not make is refused', (t) => {
  t.deepEqual(parsePstoreName('dmesg-ramoops-12'), { type: 'dmesg', backend: 'ramoops', id: 12, encZ: false });
  t.deepEqual(parsePstoreName('dmesg-ramoops-0.enc.z'), { type: 'dmesg', backend: 'ramoops', id: 0, encZ: true });
  t.deepEqual(parsePstoreName('powerpc-ofw-nvram-0'), { type: 'powerpc-ofw', backend: 'nvram', id: 0, encZ: false });
  t.deepEqual(parsePstoreName('dmesg-efi_pstore-170000000000001'), { type: 'dmesg', backend: 'efi_pstore', id: 170000000000001, encZ: false });
  for (const bad of [
    '',
    '.',
    '..',
    '../etc',
    'a/b',
    '-rf',
    'dmesg-ramoops-0;rm',
    'Dmesg-ramoops-0',
    'dmesg ramoops 0',
    'dmesg-ramoops-0\n',
    "x'y",
    'a'.repeat(64),
  ]) {
    t.false(isSafePstoreName(bad), bad);
    t.is(parsePstoreName(bad), undefined, bad);
  }
  // Safe to use, but not pstore's shape: refused as a record.
  t.true(isSafePstoreName('notes.txt'));
  t.is(parsePstoreName('notes.txt'), undefined);
  t.is(parsePstoreName('console-ramoops-0.enc.z'), undefined);
});

test('archive names: UTC time, lower-case reason, 12 hex digits', (t) => {
  t.is(utcStamp(0), '19700101T000000Z');
  t.is(utcStamp(1795678467), '20261126T073427Z');
  t.is(archiveName(1795678467, 'Panic', 'ab'.repeat(32)), '20261126T073427Z-panic-abababababab');
  t.throws(() => archiveName(0, 'Panic', 'not-hex'));
});

// Golden: a change here renames every archived crash, so it must be deliberate.
const GOLDEN: Readonly<Record<string, readonly string[]>> = {
  'c61-full-deflate': ['20261126T073532Z-oops-1eb0bbbe21d8', '20261126T073534Z-panic-c1549a6d6adf'],
  'c61-zstd-ecc16-full': ['20261126T073816Z-oops-8ff298d4017d', '20261126T073817Z-panic-ee5a8a54aaa3'],
  'deb61-ecc16-1panic': ['20261126T073352Z-panic-dbab3711c028'],
  'deb61-ecc16-corrected': ['20261126T073439Z-panic-ef43b883af94'],
  'deb61-ecc16-uncorrectable': ['20261126T073451Z-undecoded-264e51e0d04b'],
  'deb61-noecc': ['20261126T073427Z-panic-472de14c7a70'],
  'deb612-ecc16-1panic': ['20261126T074030Z-panic-f01b9c9814e1'],
};

const fixtures = loadFixtures();

function captured(name: string): HarvestedFile[] {
  const fx = fixtures.find((f) => f.name === name);
  if (fx === undefined) throw new Error(`no fixture ${name}`);
  return fx.expected.map((e) => ({ name: e.name, size: e.size, mtime: { seconds: e.mtime, nsec: 0 }, bytes: e.bytes }));
}

for (const fx of fixtures) {
  test(`${fx.name}: crash names are stable`, (t) => {
    const a = analyze(captured(fx.name), sha256);
    const golden = GOLDEN[fx.name];
    // A capture folder added later needs no code change: its names are held to the format and to
    // stability below; the pinned ones also guard against accidental renames.
    if (golden)
      t.deepEqual(
        a.crashes.map((c) => c.name),
        [...golden],
      );
    else for (const c of a.crashes) t.regex(c.name, /^\d{8}T\d{6}Z-[a-z]+-[0-9a-f]{12}$/);
    t.true(a.crashes.length > 0);
    // The same record again, in any order: the same names.
    t.deepEqual(
      analyze([...captured(fx.name)].reverse(), sha256).crashes.map((c) => c.name),
      a.crashes.map((c) => c.name),
    );
  });
}

test('the name ignores the ECC notice: a later boot counting other corrections is the same record', (t) => {
  const files = captured('deb61-ecc16-1panic');
  const f = files[0];
  if (f === undefined) return t.fail();
  const text = new TextDecoder().decode(f.bytes).replace(/ECC: No errors detected\n$/, 'ECC: 2 Corrected bytes, 0 unrecoverable blocks\n');
  const again = analyze([{ ...f, bytes: new TextEncoder().encode(text) }], sha256);
  t.is(again.crashes[0]?.name, GOLDEN['deb61-ecc16-1panic']?.[0]);
  t.not(again.crashes[0]?.parts[0]?.sha256, analyze(files, sha256).crashes[0]?.parts[0]?.sha256);
});

test('one changed byte in the text: a different name', (t) => {
  const f = captured('deb61-noecc')[0];
  if (f === undefined) return t.fail();
  const bytes = Uint8Array.from(f.bytes);
  bytes[100] = (bytes[100] ?? 0) ^ 1;
  t.not(analyze([{ ...f, bytes }], sha256).crashes[0]?.name, GOLDEN['deb61-noecc']?.[0]);
});

test('the uncorrectable capture is kept as an undecoded record with its damage in the summary', (t) => {
  const a = analyze(captured('deb61-ecc16-uncorrectable'), sha256);
  const c = a.crashes[0];
  t.is(c?.reason, undefined);
  t.true(c?.parts[0]?.encZ);
  t.is(c?.parts[0]?.decodedWith, undefined);
  t.regex(c?.summary ?? '', /^2026-11-26T07:34:51Z undecodable record \(\.enc\.z\): .*\{ECC: 0 Corrected bytes, 1 unrecoverable blocks\}$/);
  // Sanity: the fixture file is what the guest showed.
  t.is(readFileSync(join(fixturesDir(), 'deb61-ecc16-uncorrectable', 'expected', 'dmesg-ramoops-0.enc.z')).length, 9454);
});
